/**
 * @module
 * The OAuth endpoints under `/_keygate/oauth`: the device flow (RFC 8628) for CLIs and other
 * input-constrained clients, the token endpoint (device code and refresh token grants), RFC 7009
 * revocation, userinfo, and the verification page where a signed-in user approves or denies.
 *
 * | method and path | does |
 * |---|---|
 * | `POST /device/code` | starts an authorization: device code, user code, verification URI |
 * | `POST /token` | polls a device code, or rotates a refresh token |
 * | `POST /revoke` | revokes an access token, or a refresh token and its family |
 * | `GET /userinfo` | who an access token speaks for |
 * | `GET /device` · `POST /device` | the verification page, and its approve / deny |
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { limitBody, parseWith } from "../admin/input";
import { verifySession } from "../auth/session";
import { listMemberships } from "../db/orgs";
import { getConfig } from "../env";
import { KeygateError } from "../errors";
import { cacheContext } from "../gateway/cache-context";
import { unauthorized } from "../gateway/challenge";
import type { KeygateEnv } from "../gateway/context";
import { bearerToken, readCredential } from "../gateway/credentials";
import { loadPolicy } from "../gateway/policy";
import { DEVICE_CODE_GRANT, DeviceCodeInputSchema, DeviceDecisionInputSchema, RevokeInputSchema, TokenInputSchema } from "../schemas/oauth";
import { parseRequestedScopes } from "./consent";
import { decideDeviceAuthorization, findPendingDevice, pollDeviceAuthorization, startDeviceAuthorization } from "./device";
import { NO_STORE } from "./errors";
import { isFormRequest, readOAuthInput, readParams } from "./input";
import { consentView, DEVICE_PAGE_PATH, enterCodeView, outcomeView, PAGE_HEADERS, signInView } from "./page";
import { issueTokens, refreshTokens, revokeOAuthToken } from "./tokens";
import { verifyAccessToken } from "./verify";

export const oauthRoutes = new Hono<KeygateEnv>();

oauthRoutes.use(limitBody());

oauthRoutes.post("/device/code", async (c) => {
  const input = await readOAuthInput(c, DeviceCodeInputSchema);
  const scopes = parseRequestedScopes(input.scope, loadPolicy(c.env).catalog);
  const started = await startDeviceAuthorization(
    c.env.DB,
    { clientId: input.client_id, scopes, orgId: input.org_id ?? null, projectId: input.project_id ?? null },
    Date.now(),
  );
  const verificationUri = new URL(DEVICE_PAGE_PATH, c.req.url);
  const complete = new URL(verificationUri);
  complete.searchParams.set("user_code", started.userCode);
  return c.json(
    {
      device_code: started.deviceCode,
      user_code: started.userCode,
      verification_uri: verificationUri.href,
      verification_uri_complete: complete.href,
      expires_in: started.expiresIn,
      interval: started.interval,
    },
    200,
    NO_STORE,
  );
});

oauthRoutes.post("/token", async (c) => {
  const input = await readOAuthInput(c, TokenInputSchema);
  const now = Date.now();
  const tokens =
    input.grant_type === DEVICE_CODE_GRANT
      ? await issueTokens(c.env.DB, await pollDeviceAuthorization(c.env.DB, input.device_code, input.client_id, now), now)
      : await refreshTokens(c.env, input.refresh_token, input.client_id, now);
  return c.json(tokens, 200, NO_STORE);
});

/** RFC 7009 §2.2: 200 whether or not the token was known. */
oauthRoutes.post("/revoke", async (c) => {
  const input = await readOAuthInput(c, RevokeInputSchema);
  await revokeOAuthToken(c.env, input.token, Date.now());
  return c.json({}, 200, NO_STORE);
});

oauthRoutes.get("/userinfo", async (c) => {
  const raw = bearerToken(c.req.header("authorization") ?? null);
  const token = raw === undefined ? null : await verifyAccessToken(cacheContext(c), c.env, raw);
  if (token === null) throw unauthorized(c, "invalid token");
  const data = {
    user_id: token.userId,
    email: token.email,
    org_id: token.orgId,
    project_id: token.projectId,
    scopes: token.scopes,
    expires_at: new Date(token.expiresAt).toISOString(),
    client_id: token.clientId,
  };
  return c.json({ ok: true, data }, 200, NO_STORE);
});

oauthRoutes.get("/device", async (c) => {
  const userId = await signedInUserId(c);
  if (userId === null) return c.html(signInView(), 200, PAGE_HEADERS);
  const typed = c.req.query("user_code");
  if (typed === undefined) return c.html(enterCodeView(), 200, PAGE_HEADERS);
  const device = await findPendingDevice(c.env.DB, typed, Date.now());
  if (device === null) return c.html(enterCodeView("That code is unknown, expired or already used."), 200, PAGE_HEADERS);
  const memberships = await listMemberships(c.env.DB, userId);
  return c.html(consentView({ device, memberships, catalog: loadPolicy(c.env).catalog }), 200, PAGE_HEADERS);
});

/** Approve or deny: a browser form (answered with a page) or JSON (answered with JSON). */
oauthRoutes.post("/device", async (c) => {
  const fromForm = isFormRequest(c);
  try {
    assertTrustedOrigin(c);
    const userId = await signedInUserId(c);
    if (userId === null) throw unauthorized(c, "invalid session");
    const params = await readParams(c);
    if (params === null) throw KeygateError.badRequest([{ path: "(body)", message: "must be a form or a JSON object" }]);
    const input = parseWith(DeviceDecisionInputSchema, params);
    const decision = { userCode: input.user_code, userId, action: input.action, orgId: input.org_id };
    const status = await decideDeviceAuthorization(c.env.DB, decision, Date.now());
    if (!fromForm) return c.json({ ok: true, data: { status } });
    return status === "approved"
      ? c.html(outcomeView("Device connected", "You can return to your device."), 200, PAGE_HEADERS)
      : c.html(outcomeView("Request denied", "The device was not given access."), 200, PAGE_HEADERS);
  } catch (error) {
    if (!fromForm || !(error instanceof KeygateError)) throw error;
    return c.html(outcomeView("Not done", explain(error)), error.status as ContentfulStatusCode, PAGE_HEADERS);
  }
});

/** The user of a valid dashboard session cookie, else `null`. */
async function signedInUserId(c: Context<KeygateEnv>): Promise<string | null> {
  const credential = readCredential(c.req.raw.headers, getConfig(c.env).sessionCookieNames);
  if (credential.kind !== "session") return null;
  return (await verifySession(cacheContext(c), c.env, credential.value))?.userId ?? null;
}

/**
 * CSRF: a decision needs an `Origin` that is this Worker's own or one of the policy's `cors.origins`.
 * @throws {KeygateError} 403 `origin_not_allowed`.
 */
function assertTrustedOrigin(c: Context<KeygateEnv>): void {
  const origin = c.req.header("origin");
  if (origin !== undefined && (origin === new URL(c.req.url).origin || loadPolicy(c.env).cors.origins.has(origin))) return;
  throw new KeygateError("FORBIDDEN", "origin_not_allowed");
}

/** A refused decision in words, for the page. */
function explain(error: KeygateError): string {
  const issues = error.details?.issues;
  if (Array.isArray(issues)) return issues.map((issue: { path: string; message: string }) => `${issue.path} ${issue.message}`).join("; ");
  const reason = error.details?.reason;
  return typeof reason === "string" ? reason : error.message;
}
