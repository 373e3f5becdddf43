/**
 * @module
 * The authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636, OAuth 2.1) for MCP and other
 * clients with a browser:
 *
 * 1. `GET /authorize` is validated by {@link checkAuthorizationRequest}. An unknown client or a
 *    redirect URI that is not the client's is shown as a page and never redirected to; everything
 *    else wrong goes back to the redirect URI as `error=…`. A signed-in user gets the consent page
 *    (every time: consent is never remembered), a signed-out one the sign-in form.
 * 2. The consent form posts back the request's fields, re-validated the same way, with a form token
 *    bound to the session and to exactly those fields. Approval ({@link approveAuthorization})
 *    mints a code valid {@link CODE_TTL_S} for the org and project the user picked and the
 *    requested scopes their role allows.
 * 3. `POST /token` exchanges the code once ({@link exchangeAuthorizationCode}) with the PKCE
 *    verifier (S256 only), the same client and redirect URI; a replayed code revokes every token
 *    it yielded. The tokens are bound to the request's `resource` (RFC 8707).
 *
 * Responses carry `iss` (RFC 9207), so a client can tell which server answered.
 */
import { timingSafeEqual } from "hono/utils/buffer";
import type { CacheContext } from "../cache/tiered";
import { insertAuthorizationCode, useAuthorizationCode } from "../db/oauth-codes";
import { listMemberships, projectExists } from "../db/orgs";
import type { Bindings } from "../env";
import { KeygateError } from "../errors";
import { newId } from "../core/ids";
import { sha256Base64Url } from "../core/sha256";
import type { Catalog } from "../core/scopes";
import type { AuthorizationRequestInput } from "../schemas/oauth";
import { isRedirectUriOf, resolveClient, type OAuthClient } from "./clients";
import { parseRequestedScopes, splitByRole } from "./consent";
import { OAuthError, type OAuthErrorCode } from "./errors";
import { normalizeResource } from "../core/resource-indicator";
import { grantForCurrentRole, revokeTokenFamily, type TokenGrant } from "./tokens";
import { generateSecret, hashSecret, isSecretOf } from "../core/token-format";

const CODE_TTL_S = 60;
export const OAUTH_ISSUER_PATH = "/_keygate/oauth";

/** A valid authorization request. */
export interface AuthorizationRequest {
  client: OAuthClient;
  /** As the client sent it; the token request must repeat it exactly. */
  redirectUri: string;
  state: string | undefined;
  scopes: string[];
  codeChallenge: string;
  /** Normalized; `null` without a `resource` parameter. */
  resource: string | null;
  /** The raw fields, as the consent form repeats them. */
  fields: AuthorizationRequestInput;
}

/** A request that cannot be sent back to the client: shown to the user as a page. */
export class AuthorizationPageError extends Error {}

/** A request error the client is told at its redirect URI (RFC 6749 §4.1.2.1). */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly location: string,
    readonly error: OAuthErrorCode,
  ) {
    super(error);
  }
}

/** The issuer of this Worker: `<origin>/_keygate/oauth`. */
export function issuerOf(workerUrl: URL): string {
  return `${workerUrl.origin}${OAUTH_ISSUER_PATH}`;
}

/** `redirectUri` with the response parameters (and `iss`) added to its query. */
export function authorizationResponse(redirectUri: string, params: Record<string, string | undefined>, workerUrl: URL): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...params, iss: issuerOf(workerUrl) })) if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}

/**
 * Checks an authorization request.
 * @throws {AuthorizationPageError} for an unknown client or a redirect URI that is not the client's.
 * @throws {AuthorizationRedirectError} for anything else: `unsupported_response_type`,
 *   `invalid_request` (PKCE), `invalid_scope`, `invalid_target`.
 */
export async function checkAuthorizationRequest(
  ctx: CacheContext,
  env: Bindings,
  fields: AuthorizationRequestInput,
  catalog: Catalog,
  workerUrl: URL,
): Promise<AuthorizationRequest> {
  const client = await resolveClient(ctx, env, fields.client_id, workerUrl);
  if (client === null) throw new AuthorizationPageError("The application's client_id is not registered here, and its metadata document could not be used.");
  const redirectUri = fields.redirect_uri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (redirectUri === undefined) throw new AuthorizationPageError("The application sent no redirect_uri.");
  if (!isRedirectUriOf(client, redirectUri)) throw new AuthorizationPageError("The application's redirect_uri is not one it registered.");

  const fail = (error: OAuthErrorCode, description: string) =>
    new AuthorizationRedirectError(authorizationResponse(redirectUri, { error, error_description: description, state: fields.state }, workerUrl), error);
  if (fields.response_type !== "code") throw fail("unsupported_response_type", 'response_type must be "code"');
  if (fields.code_challenge_method !== "S256") throw fail("invalid_request", "PKCE is required with code_challenge_method=S256");
  if (fields.code_challenge === undefined || !/^[A-Za-z0-9_-]{43}$/.test(fields.code_challenge)) {
    throw fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)");
  }
  let scopes: string[];
  try {
    scopes = parseRequestedScopes(fields.scope, catalog);
  } catch (error) {
    if (error instanceof OAuthError) throw fail(error.error, error.description);
    throw error;
  }
  let resource: string | null = null;
  if (fields.resource !== undefined) {
    resource = normalizeResource(fields.resource);
    if (resource === null || new URL(resource).origin !== workerUrl.origin) {
      throw fail("invalid_target", "resource must be an absolute URL of this gateway without fragment");
    }
  }
  return { client, redirectUri, state: fields.state, scopes, codeChallenge: fields.code_challenge, resource, fields };
}

/** What a form token of the consent page is bound to: every field of the request. */
export function authorizationPurpose(request: AuthorizationRequest): string {
  const { client_id, redirect_uri, scope, state, code_challenge, code_challenge_method, resource, response_type } = request.fields;
  return `authorize\n${JSON.stringify([client_id, redirect_uri, scope, state, code_challenge, code_challenge_method, resource, response_type])}`;
}

export interface Approval {
  userId: string;
  /** `<org_id>` or `<org_id>/<project_id>`, as the consent page's select names it. */
  target: string | undefined;
}

/**
 * The user approved: a code for the chosen org and project, with the requested scopes their role
 * allows.
 * @returns the redirect URI with `code`, `state` and `iss`
 * @throws {KeygateError} 400 for no or another user's org, a project the org does not own; 403
 *   `insufficient_scope` when the role allows none of the scopes.
 */
export async function approveAuthorization(db: D1Database, request: AuthorizationRequest, approval: Approval, workerUrl: URL, now: number): Promise<string> {
  const [orgId, projectId = null] = (approval.target ?? "").split("/", 2);
  const membership = orgId ? (await listMemberships(db, approval.userId)).find((m) => m.org_id === orgId) : undefined;
  if (membership === undefined) throw KeygateError.badRequest([{ path: "target", message: "is not an org you are a member of" }]);
  if (projectId !== null && !(await projectExists(db, membership.org_id, projectId))) {
    throw KeygateError.badRequest([{ path: "target", message: `"${projectId}" is not a project of this org` }]);
  }
  const { grantable, refused } = splitByRole(membership.role, request.scopes);
  if (grantable.length === 0) {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", {
      details: { requiredScopes: request.scopes, missingScopes: refused, reason: `your role "${membership.role}" may grant none of the requested scopes` },
    });
  }
  const code = generateSecret("code");
  await insertAuthorizationCode(db, {
    id: newId("acd", now),
    code_hash: await hashSecret(code),
    client_id: request.client.clientId,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    user_id: approval.userId,
    org_id: membership.org_id,
    project_id: projectId,
    scopes: grantable,
    resource: request.resource,
    expires_at: now + CODE_TTL_S * 1000,
    created_at: new Date(now).toISOString(),
  });
  return authorizationResponse(request.redirectUri, { code, state: request.state }, workerUrl);
}

export interface CodeExchange {
  code: string;
  clientId: string;
  redirectUri: string;
  codeVerifier: string;
  resource: string | undefined;
}

/**
 * The token request of the authorization-code grant; returns the grant to mint tokens from, once.
 * @throws {OAuthError} `invalid_grant` (unknown, expired, replayed, another client's or redirect
 *   URI's code, a wrong verifier, or the user left the org), `invalid_target` (another resource).
 */
export async function exchangeAuthorizationCode(env: Bindings, exchange: CodeExchange, now: number): Promise<TokenGrant> {
  const code = isSecretOf("code", exchange.code) ? await useAuthorizationCode(env.DB, await hashSecret(exchange.code), now) : null;
  if (code === null) throw new OAuthError("invalid_grant", "unknown authorization code");
  if (code.used_at !== null) {
    // RFC 6749 §4.1.2: a code used twice was stolen; what it yielded is revoked.
    await revokeTokenFamily(env, code.id, now);
    throw new OAuthError("invalid_grant", "the authorization code was already used: the tokens it yielded are revoked");
  }
  if (now >= code.expires_at) throw new OAuthError("invalid_grant", "the authorization code expired");
  if (code.client_id !== exchange.clientId) throw new OAuthError("invalid_grant", "the authorization code was issued to another client");
  if (code.redirect_uri !== exchange.redirectUri) throw new OAuthError("invalid_grant", "redirect_uri differs from the authorization request's");
  // RFC 7636 §4.6, S256 only.
  if (!(await timingSafeEqual(await sha256Base64Url(exchange.codeVerifier), code.code_challenge))) {
    throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge");
  }
  if (exchange.resource !== undefined && normalizeResource(exchange.resource) !== code.resource) {
    throw new OAuthError("invalid_target", "resource differs from the authorization request's");
  }
  const grant = await grantForCurrentRole(env.DB, {
    familyId: code.id,
    clientId: code.client_id,
    userId: code.user_id,
    orgId: code.org_id,
    projectId: code.project_id,
    scopes: code.scopes,
    resource: code.resource,
  });
  if (grant === null) throw new OAuthError("invalid_grant", "the user no longer holds a role in the org that allows these scopes");
  return grant;
}
