/**
 * @module
 * The OAuth endpoints under `/_keygate/oauth` (issuer `<origin>/_keygate/oauth`, metadata in
 * ./metadata): the authorization-code grant with PKCE for MCP and browser clients
 * (./authorize-routes), the device flow (RFC 8628) for CLIs and other input-constrained clients
 * (its verification page in ./device-routes), the token endpoint, RFC 7591 registration, RFC 7009
 * revocation, userinfo, and the pages' sign-in form and stylesheet.
 *
 * | method and path | does |
 * |---|---|
 * | `GET /authorize` · `POST /authorize` | the authorization request, its consent page, and the decision |
 * | `POST /register` | registers a public client (RFC 7591) |
 * | `POST /device/code` | starts a device authorization: device code, user code, verification URI |
 * | `POST /token` | exchanges an authorization code, polls a device code, or rotates a refresh token |
 * | `POST /revoke` | revokes an access token, or a refresh token and its family |
 * | `GET /userinfo` | who an access token speaks for |
 * | `GET /device` · `POST /device` | the verification page, and its approve / deny |
 * | `POST /sign-in` · `GET /page.css` | the pages' sign-in form and stylesheet |
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { limitBody } from "../http/input";
import { CLIENT_REGISTRATIONS, limitAttempts } from "../auth/attempts";
import { zodIssues } from "../errors";
import { cacheContext } from "../http/cache-context";
import { unauthorized } from "../http/challenge";
import type { KeygateEnv } from "../http/context";
import { bearerToken } from "../http/read-credential";
import { loadPolicy } from "../policy/compile";
import { ClientMetadataSchema, DEVICE_CODE_GRANT, DeviceCodeInputSchema, RevokeInputSchema, TokenInputSchema } from "../schemas/oauth";
import { exchangeAuthorizationCode } from "./authorize";
import { authorizeRoutes } from "./authorize-routes";
import { registerClient } from "./clients";
import { parseRequestedScopes } from "./consent";
import { pollDeviceAuthorization, startDeviceAuthorization } from "./device";
import { deviceRoutes } from "./device-routes";
import { NO_STORE, OAuthError } from "./errors";
import { requireTrustedOrigin } from "./form-guard";
import { isFormRequest, readOAuthInput, readParams } from "./input";
import { DEVICE_PAGE_PATH, STYLESHEET } from "./page";
import { signInFromForm } from "./sign-in";
import { issueTokens, refreshTokens, revokeOAuthToken, type TokenGrant } from "./tokens";
import { verifyAccessToken } from "../credentials/access-tokens";

export const oauthRoutes = new Hono<KeygateEnv>();

oauthRoutes.use(limitBody());
// Endpoints a browser-based client calls from its own origin, without cookies.
for (const path of ["/token", "/revoke", "/register", "/userinfo"]) oauthRoutes.use(path, cors({ origin: "*", allowMethods: ["GET", "POST"], maxAge: 600 }));
oauthRoutes.route("/", authorizeRoutes);
oauthRoutes.route("/", deviceRoutes);

oauthRoutes.post("/register", limitAttempts("oauth-register", CLIENT_REGISTRATIONS), async (c) => {
  const params = isFormRequest(c) ? null : await readParams(c);
  if (params === null) throw new OAuthError("invalid_client_metadata", "the body must be a JSON object (RFC 7591)");
  const parsed = ClientMetadataSchema.safeParse(params);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const error = issues.some((issue) => issue.path.startsWith("redirect_uris")) ? "invalid_redirect_uri" : "invalid_client_metadata";
    throw new OAuthError(error, issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "));
  }
  return c.json(await registerClient(c.env.DB, parsed.data, Date.now()), 201, NO_STORE);
});

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
  if (input.grant_type === "refresh_token") return c.json(await refreshTokens(c.env, input.refresh_token, input.client_id, input.resource, now), 200, NO_STORE);
  let grant: TokenGrant;
  if (input.grant_type === DEVICE_CODE_GRANT) grant = await pollDeviceAuthorization(c.env.DB, input.device_code, input.client_id, now);
  else {
    const exchange = { code: input.code, clientId: input.client_id, redirectUri: input.redirect_uri, codeVerifier: input.code_verifier, resource: input.resource };
    grant = await exchangeAuthorizationCode(c.env, exchange, now);
  }
  return c.json(await issueTokens(c.env.DB, grant, now), 200, NO_STORE);
});

/** RFC 7009 §2.2: 200 whether or not the token was known; a token of another client is refused. */
oauthRoutes.post("/revoke", async (c) => {
  const input = await readOAuthInput(c, RevokeInputSchema);
  await revokeOAuthToken(c.env, input.token, input.client_id, Date.now());
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
  // `sub` and `email` at the top level for OAuth and OpenID clients; `data` for Keygate's own.
  return c.json({ sub: token.userId, email: token.email, ok: true, data }, 200, NO_STORE);
});

oauthRoutes.get("/page.css", (c) => c.body(STYLESHEET, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }));

oauthRoutes.post("/sign-in", requireTrustedOrigin(), signInFromForm);
