/**
 * @module
 * Where better-auth keeps its models in Keygate's D1 (migrations/0003_auth.sql): snake_case tables
 * and columns like the rest of the schema, and better-auth's `organization` model *is* Keygate's
 * `orgs` table, so the admin API and the dashboards share one list of orgs. Ids are Keygate's
 * K-sortable prefixed ids (`org_…` stays `org_<26 Crockford>`).
 */
import type { BetterAuthOptions } from "better-auth";
import type { OrganizationOptions } from "better-auth/plugins/organization";
import { type IdPrefix, newId } from "../core/ids";

const CREATED_AT = { createdAt: "created_at" } as const;
const TIMESTAMPS = { ...CREATED_AT, updatedAt: "updated_at" } as const;

/** The core models (users, sessions, accounts, verifications) of the better-auth options. */
export const CORE_MODELS = {
  user: {
    modelName: "users",
    fields: { emailVerified: "email_verified", ...TIMESTAMPS },
  },
  session: {
    modelName: "sessions",
    fields: { expiresAt: "expires_at", ipAddress: "ip_address", userAgent: "user_agent", userId: "user_id", ...TIMESTAMPS },
  },
  account: {
    modelName: "accounts",
    fields: {
      accountId: "account_id",
      providerId: "provider_id",
      userId: "user_id",
      accessToken: "access_token",
      refreshToken: "refresh_token",
      idToken: "id_token",
      accessTokenExpiresAt: "access_token_expires_at",
      refreshTokenExpiresAt: "refresh_token_expires_at",
      ...TIMESTAMPS,
    },
  },
  verification: {
    modelName: "verifications",
    fields: { expiresAt: "expires_at", ...TIMESTAMPS },
  },
} satisfies Pick<BetterAuthOptions, "user" | "session" | "account" | "verification">;

/** The organization plugin's models: organizations are `orgs`, their members `members`. */
export const ORGANIZATION_MODELS = {
  organization: { modelName: "orgs", fields: CREATED_AT },
  member: { modelName: "members", fields: { organizationId: "org_id", userId: "user_id", ...CREATED_AT } },
  invitation: {
    modelName: "invitations",
    fields: { organizationId: "org_id", expiresAt: "expires_at", inviterId: "inviter_id", ...CREATED_AT },
  },
  session: { fields: { activeOrganizationId: "active_org_id" } },
} satisfies OrganizationOptions["schema"];

const ID_PREFIXES: Record<string, IdPrefix> = {
  user: "usr",
  session: "ses",
  account: "acc",
  verification: "vrf",
  organization: "org",
  member: "mem",
  invitation: "inv",
};

/**
 * better-auth's `advanced.database.generateId`: a K-sortable id with the model's prefix.
 * @param options - `model` is better-auth's own model name (`user`, `organization`, …).
 * @throws {TypeError} for a model without a prefix: a plugin that adds models must add theirs here.
 */
export function generateAuthId({ model }: { model: string }): string {
  const prefix = ID_PREFIXES[model];
  if (prefix === undefined) throw new TypeError(`no id prefix for better-auth model "${model}": add one to ID_PREFIXES`);
  return newId(prefix);
}
