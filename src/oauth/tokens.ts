/**
 * @module
 * Access and refresh tokens. An approved device authorization starts a token family; every token
 * minted from it, or from its refresh tokens, belongs to that family.
 *
 * - Access tokens live {@link ACCESS_TOKEN_TTL_S}; refresh tokens {@link REFRESH_TOKEN_TTL_S}.
 * - A refresh token is used once: refreshing returns a new pair. The old access token keeps working
 *   until its own expiry (revoke it to end it sooner).
 * - Presenting an already used refresh token means it leaked (or the client lost a response): the
 *   whole family is revoked, access tokens included.
 * - Refreshing re-reads the user's membership: a user no longer in the org gets `invalid_grant`
 *   (and the family is revoked); a demoted user's new tokens lose the scopes the role no longer allows.
 */
import { findTokenByHash, insertTokens, revokeFamily, revokeToken, revokeUserOrgTokens, useRefreshToken, type NewToken } from "../db/oauth";
import { listMemberships } from "../db/orgs";
import type { Bindings } from "../env";
import { newId } from "../ids";
import { splitByRole } from "./consent";
import { OAuthError } from "./errors";
import { generateSecret, hashSecret } from "./token-format";
import { forgetAccessTokens } from "./verify";

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 30 * 86_400;

/** What a token pair is minted for. */
export interface TokenGrant {
  /** The device authorization the family descends from. */
  familyId: string;
  clientId: string;
  userId: string;
  orgId: string;
  projectId: string | null;
  scopes: readonly string[];
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
 * Rotates a refresh token: a new pair of the same family.
 * @throws {OAuthError} `invalid_grant` for an unknown, expired, revoked or another client's token,
 *   and for a reused one (after revoking its family), or when the user left the org.
 */
export async function refreshTokens(env: Bindings, refreshToken: string, clientId: string, now: number): Promise<TokenResponse> {
  const hash = await hashSecret(refreshToken);
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

  const membership = (await listMemberships(env.DB, used.user_id)).find((m) => m.org_id === used.org_id);
  const scopes = membership && splitByRole(membership.role, used.scopes).grantable;
  if (scopes === undefined || scopes.length === 0) {
    await revokeTokenFamily(env, used.family_id, now);
    throw new OAuthError("invalid_grant", "the user no longer holds a role in the org that allows these scopes");
  }
  const { family_id, client_id, user_id, org_id, project_id } = used;
  const grant = { familyId: family_id, clientId: client_id, userId: user_id, orgId: org_id, projectId: project_id, scopes };
  return issueTokens(env.DB, grant, now, used.id);
}

/**
 * RFC 7009 revocation: an access token ends alone, a refresh token ends its whole family. Unknown
 * tokens are ignored. Takes effect at once in this Worker, elsewhere within KEY_CACHE_TTL_S.
 */
export async function revokeOAuthToken(env: Bindings, token: string, now: number): Promise<void> {
  const hash = await hashSecret(token);
  const found = await findTokenByHash(env.DB, hash);
  if (found === null) return;
  if (found.kind === "refresh") await revokeTokenFamily(env, found.family_id, now);
  else await forgetAccessTokens(env.KEY_CACHE, await revokeToken(env.DB, hash, now));
}

async function revokeTokenFamily(env: Bindings, familyId: string, now: number): Promise<void> {
  await forgetAccessTokens(env.KEY_CACHE, await revokeFamily(env.DB, familyId, now));
}

/**
 * Ends every token a user holds for an org, when they leave it or are removed: a former admin must
 * not keep using the admin API until their access token expires.
 */
export async function revokeMemberTokens(env: Bindings, userId: string, orgId: string, now: number): Promise<void> {
  await forgetAccessTokens(env.KEY_CACHE, await revokeUserOrgTokens(env.DB, userId, orgId, now));
}
