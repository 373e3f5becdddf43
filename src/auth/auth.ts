/**
 * @module
 * Keygate's identity provider: better-auth on the Worker's D1, served at `/_keygate/auth/*`. Users
 * sign up and in with email and password, get a session cookie, and belong to organizations,
 * which are Keygate's orgs (see ./schema). One instance per env object, like the config.
 *
 * Hooks keep the gateway's session caches honest in this Worker: an ended or changed session (its
 * active org) and a changed membership are forgotten at once (see ./session-cache). Who may
 * register is `SIGNUP` (./signup); org creation is `USER_ORGS` and `ORG_LIMIT`; sign-in and sign-up
 * attempts are limited per client address in D1 (./attempts). Invitations are Keygate's own, redeemed
 * by their link's secret (./invitations); the plugin's invitation endpoints are refused (./routes).
 */
import { betterAuth } from "better-auth";
import { createAuthMiddleware } from "better-auth/api";
import { organization } from "better-auth/plugins/organization";
import { getConfig, MISSING_AUTH_SECRET, type Bindings } from "../env";
import { KeygateError } from "../errors";
import { loadPolicy } from "../policy/compile";
import { oncePer } from "../core/memo";
import { CORE_MODELS, generateAuthId, ORGANIZATION_MODELS } from "./schema";
import { revokeMemberTokens } from "../credentials/access-tokens";
import { attemptStorage, CLIENT_ADDRESS, CREDENTIAL_ATTEMPTS } from "./attempts";
import { forgetMemberships, forgetSession } from "./session-cache";
import { assertMayRegister, invitationTokenOf } from "./signup";

/** Where better-auth's endpoints live (`/_keygate/auth/sign-in/email`, …). */
export const AUTH_BASE_PATH = "/_keygate/auth";

export type Auth = ReturnType<typeof createAuth>;

/**
 * The better-auth instance for `env`, created on first use.
 * @throws {KeygateError} `UNAVAILABLE` naming the setting when BETTER_AUTH_SECRET is not set.
 * @example
 * const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
 */
export const getAuth: (env: Bindings) => Auth = oncePer((env: Bindings) => createAuth(env));

function createAuth(env: Bindings) {
  const config = getConfig(env);
  if (!config.authSecret) throw new KeygateError("UNAVAILABLE", MISSING_AUTH_SECRET);
  const forgetMembershipsOf = async ({ member }: { member: { userId: string } }) => forgetMemberships(env.KEY_CACHE, member.userId);
  const endMembership = async (member: { userId: string; organizationId: string }) => {
    await forgetMemberships(env.KEY_CACHE, member.userId);
    await revokeMemberTokens(env, member.userId, member.organizationId, Date.now());
  };
  return betterAuth({
    appName: "Keygate",
    basePath: AUTH_BASE_PATH,
    baseURL: config.authUrl,
    secret: config.authSecret,
    database: env.DB,
    // Dashboards are served from the policy's CORS origins; better-auth refuses other Origins.
    trustedOrigins: () => [...loadPolicy(env).cors.origins],
    emailAndPassword: { enabled: true },
    ...CORE_MODELS,
    // On explicitly: better-auth turns it on only when NODE_ENV is "production".
    rateLimit: {
      enabled: true,
      customStorage: attemptStorage(env.DB),
      customRules: {
        "/sign-in/*": CREDENTIAL_ATTEMPTS,
        "/sign-up/*": CREDENTIAL_ATTEMPTS,
        // Dashboards poll it; it guesses nothing (the cookie is signed), and counting it costs a D1 write.
        "/get-session": false,
      },
    },
    // Errors that are not better-auth's own (D1 down while counting attempts) reach Keygate's onError.
    onAPIError: { throw: true },
    databaseHooks: {
      user: {
        create: {
          before: async (user, context) => assertMayRegister(env.DB, config.signup, user.email, invitationTokenOf(context)),
        },
      },
      session: {
        update: { after: (session) => forgetSession(env.KEY_CACHE, session.token) },
        delete: { after: (session) => forgetSession(env.KEY_CACHE, session.token) },
      },
    },
    hooks: {
      // Leaving an org has no organization hook; the endpoint returns the removed member.
      after: createAuthMiddleware(async (ctx) => {
        const left = ctx.context.returned;
        if (ctx.path === "/organization/leave" && isMember(left)) await endMembership(left);
      }),
    },
    advanced: {
      database: { generateId: generateAuthId, validateSchema: false },
      ipAddress: CLIENT_ADDRESS,
      // Decided by BETTER_AUTH_URL alone, so the gateway knows the one cookie name better-auth sets.
      useSecureCookies: config.secureCookies,
    },
    telemetry: { enabled: false },
    plugins: [
      organization({
        schema: ORGANIZATION_MODELS,
        // Keys, projects and audit events belong to orgs: an org is never deleted from a dashboard.
        disableOrganizationDeletion: true,
        allowUserToCreateOrganization: config.userOrgs,
        // better-auth counts the orgs the user belongs to, created or joined.
        organizationLimit: config.orgLimit,
        organizationHooks: {
          afterCreateOrganization: forgetMembershipsOf,
          afterAddMember: forgetMembershipsOf,
          afterUpdateMemberRole: forgetMembershipsOf,
          afterRemoveMember: ({ member }) => endMembership(member),
        },
      }),
    ],
  });
}

function isMember(value: unknown): value is { userId: string; organizationId: string } {
  if (typeof value !== "object" || value === null) return false;
  const member = value as { userId?: unknown; organizationId?: unknown };
  return typeof member.userId === "string" && typeof member.organizationId === "string";
}
