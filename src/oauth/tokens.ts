/**
 * @module
 * Access and refresh tokens. An approved device authorization or an authorization code starts a
 * token family; every token minted from it, or from its refresh tokens, belongs to that family.
 *
 * - Access tokens live {@link ACCESS_TOKEN_TTL_S}; refresh tokens {@link REFRESH_TOKEN_TTL_S}.
 * - A refresh token is used once: refreshing returns a new pair. The old access token keeps working
 *   until its own expiry (revoke it to end it sooner).
 * - Presenting an already used refresh token means it leaked (or the client lost a response): the
 *   whole family is revoked, access tokens included.
 * - Every exchange (device code, authorization code, refresh) re-reads the user's membership
 *   ({@link grantForCurrentRole}): a user no longer in the org gets no tokens; a demoted user's new
 *   tokens lose the scopes the role no longer allows.
 * - A token minted for a resource (RFC 8707) keeps it through every refresh; asking to refresh it
 *   for another resource is `invalid_target`.
 */
import { findTokenByHash, insertTokens, revokeFamily, revokeToken, useRefreshToken, type NewToken } from "../db/oauth";
import { listMemberships } from "../db/orgs";
import type { Bindings } from "../env";
import { newId } from "../core/ids";
import { splitByRole } from "./consent";
import { OAuthError } from "./errors";
import { normalizeResource } from "../core/resource-indicator";
import { generateSecret, hashSecret } from "../core/token-format";
import { forgetAccessTokens } from "../credentials/access-tokens";

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 30 * 86_400;

/** What a token pair is minted for. */
export interface TokenGrant {
  /** The device authorization or authorization code the family descends from. */
  familyId: string;
  clientId: string;
  userId: string;
  orgId: string;
  projectId: string | null;
  scopes: readonly string[];
  /** The resource (RFC 8707) the tokens are bound to, `null` for none. */
  resource: string | null;
}

/** The token endpoint's success body (RFC 6749 §5.1, plus the org and project granted). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  scope: string;
  org_id: string;
  project_id: string | null;
}

/**
 * Mints and stores an access token and a refresh token for `grant`; with `parentId`, as the
 * rotation of that refresh token.
 * @throws {OAuthError} `invalid_grant` when the parent's family was revoked meanwhile.
 */
export async function issueTokens(db: D1Database, grant: TokenGrant, now: number, parentId: string | null = null): Promise<TokenResponse> {
  const accessToken = generateSecret("access");
  const refreshToken = generateSecret("refresh");
  const common = {
    family_id: grant.familyId,
    client_id: grant.clientId,
    user_id: grant.userId,
    org_id: grant.orgId,
    project_id: grant.projectId,
    scopes: grant.scopes,
    resource: grant.resource,
    created_at: new Date(now).toISOString(),
  };
  const tokens: NewToken[] = [
    { ...common, id: newId("otk", now), kind: "access", token_hash: await hashSecret(accessToken), expires_at: now + ACCESS_TOKEN_TTL_S * 1000 },
    { ...common, id: newId("otk", now), kind: "refresh", token_hash: await hashSecret(refreshToken), expires_at: now + REFRESH_TOKEN_TTL_S * 1000 },
  ];
  if (!(await insertTokens(db, tokens, parentId))) {
    throw new OAuthError("invalid_grant", "the refresh token was already used: every token of this authorization is revoked");
  }
  return {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: ACCESS_TOKEN_TTL_S,
    refresh_token: refreshToken,
    scope: grant.scopes.join(" "),
    org_id: grant.orgId,
    project_id: grant.projectId,
  };
}

/**
 * `grant` with only the scopes the user's current role in its org allows, `null` when the user is
 * no longer a member or the role allows none of them.
 */
export async function grantForCurrentRole(db: D1Database, grant: TokenGrant): Promise<TokenGrant | null> {
  const membership = (await listMemberships(db, grant.userId)).find((m) => m.org_id === grant.orgId);
  const scopes = membership && splitByRole(membership.role, grant.scopes).grantable;
  return scopes === undefined || scopes.length === 0 ? null : { ...grant, scopes };
}

/**
 * Rotates a refresh token: a new pair of the same family, bound to the same resource.
 * @param resource - The `resource` parameter of the request, if any; it must be the token's own.
 * @throws {OAuthError} `invalid_target` for another resource (the token stays usable);
 *   `invalid_grant` for an unknown, expired, revoked or another client's token, and for a reused
 *   one (after revoking its family), or when the user left the org.
 */
export async function refreshTokens(env: Bindings, refreshToken: string, clientId: string, resource: string | undefined, now: number): Promise<TokenResponse> {
  const hash = await hashSecret(refreshToken);
  if (resource !== undefined) {
    const known = await findTokenByHash(env.DB, hash);
    if (known?.kind === "refresh" && known.client_id === clientId && !sameResource(known.resource, resource)) {
      throw new OAuthError("invalid_target", "the refresh token was issued for another resource");
    }
  }
  const used = await useRefreshToken(env.DB, hash, clientId, now);
  if (used === null) {
    const known = await findTokenByHash(env.DB, hash);
    if (known?.kind === "refresh" && known.client_id !== clientId) throw new OAuthError("invalid_grant", "the refresh token was issued to another client");
    if (known?.kind === "refresh" && known.used_at !== null) {
      await revokeTokenFamily(env, known.family_id, now);
      throw new OAuthError("invalid_grant", "the refresh token was already used: every token of this authorization is revoked");
    }
    throw new OAuthError("invalid_grant", "unknown, expired or revoked refresh token");
  }

  const { family_id, client_id, user_id, org_id, project_id, scopes } = used;
  const stored = { familyId: family_id, clientId: client_id, userId: user_id, orgId: org_id, projectId: project_id, scopes, resource: used.resource };
  const grant = await grantForCurrentRole(env.DB, stored);
  if (grant === null) {
    await revokeTokenFamily(env, used.family_id, now);
    throw new OAuthError("invalid_grant", "the user no longer holds a role in the org that allows these scopes");
  }
  return issueTokens(env.DB, grant, now, used.id);
}

/**
 * RFC 7009 revocation by the client the token was issued to: an access token ends alone, a refresh
 * token ends its whole family. Unknown tokens are ignored. Takes effect at once in this Worker,
 * elsewhere within KEY_CACHE_TTL_S.
 * @throws {OAuthError} `unauthorized_client` when the token was issued to another client (§2.1).
 */
export async function revokeOAuthToken(env: Bindings, token: string, clientId: string, now: number): Promise<void> {
  const hash = await hashSecret(token);
  const found = await findTokenByHash(env.DB, hash);
  if (found === null) return;
  if (found.client_id !== clientId) throw new OAuthError("unauthorized_client", "the token was issued to another client");
  if (found.kind === "refresh") await revokeTokenFamily(env, found.family_id, now);
  else await forgetAccessTokens(env.KEY_CACHE, await revokeToken(env.DB, hash, now));
}

export async function revokeTokenFamily(env: Bindings, familyId: string, now: number): Promise<void> {
  await forgetAccessTokens(env.KEY_CACHE, await revokeFamily(env.DB, familyId, now));
}

/** Whether a token's stored resource is `requested` (both normalized as URLs). */
function sameResource(stored: string | null, requested: string): boolean {
  return stored !== null && stored === normalizeResource(requested);
}
