/**
 * @module
 * OAuth access tokens at the edge: verified through the same memory → KV → D1 tiers as API keys,
 * keyed by the token's SHA-256 (never the token). A token is refused from its own `expires_at` on,
 * whatever its cache entry says; revocation drops the entry in this Worker at once and elsewhere
 * within KEY_CACHE_TTL_S.
 */
import { TieredCache, type CacheContext } from "../cache/tiered";
import { type AccessTokenState, AccessTokenStateSchema, type ActiveToken, compileToken } from "../caller/active-token";
import { findAccessToken, revokeUserOrgGrants } from "../db/oauth";
import { readDb } from "../db/session";
import type { Bindings } from "../env";
import { hashSecret, isSecretOf } from "../core/token-format";

/** Unrevoked access tokens by SHA-256 hex digest. */
export const accessTokenCache = new TieredCache<AccessTokenState, ActiveToken>({
  namespace: "oauth",
  maxEntries: 10_000,
  schema: AccessTokenStateSchema,
  compile: compileToken,
});

/**
 * The access token `raw`, `null` when malformed, unknown, revoked or expired.
 * @param ctx - The request's cache context; its `now` also decides expiry.
 * @throws {KeygateError} `UNAVAILABLE` when D1 is needed and unreachable.
 */
export async function verifyAccessToken(ctx: CacheContext, env: Bindings, raw: string): Promise<ActiveToken | null> {
  if (!isSecretOf("access", raw)) return null;
  const hash = await hashSecret(raw);
  const token = await accessTokenCache.get(ctx, hash, async () => {
    const row = await findAccessToken(readDb(env), hash);
    if (row === null) return null;
    const { id, family_id, client_id, user_id, email, org_id, project_id, scopes, resource, expires_at } = row;
    return { id, family_id, client_id, user_id, email, org_id, project_id, scopes, resource, expires_at };
  });
  return token !== null && ctx.now < token.expiresAt ? token : null;
}

/** Drops revoked access tokens from this isolate's memory and from KV. */
export async function forgetAccessTokens(kv: KVNamespace, hashes: readonly string[]): Promise<void> {
  await Promise.all(hashes.map((hash) => accessTokenCache.invalidate(kv, hash)));
}

/**
 * Ends every token a user holds for an org, and the device and authorization codes they approved
 * but that were not exchanged yet, when they leave it or are removed: a former admin must not keep
 * using the admin API until their access token expires, nor mint one from an earlier approval.
 */
export async function revokeMemberTokens(env: Bindings, userId: string, orgId: string, now: number): Promise<void> {
  await forgetAccessTokens(env.KEY_CACHE, await revokeUserOrgGrants(env.DB, userId, orgId, now));
}
