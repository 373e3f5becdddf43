/**
 * @module
 * What the gateway remembers about dashboard sessions, in the same memory → KV → D1 tiers as API
 * keys: a session by the SHA-256 of its token (never the token itself), and a user's org
 * memberships by user id. better-auth's hooks forget an entry the moment the session ends or a
 * membership changes in this Worker; elsewhere entries live at most KEY_CACHE_TTL_S.
 */
import { TieredCache } from "../cache/tiered";
import { sha256Hex } from "../sha256";

/** A live session as the gateway needs it; this is what KV holds. */
export interface SessionState {
  userId: string;
  /** Epoch ms; the session is refused from then on, even while its cache entry is fresh. */
  expiresAt: number;
}

/** Sessions by the SHA-256 hex digest of their token. */
export const sessionCache = new TieredCache<SessionState, SessionState>({ namespace: "session", maxEntries: 10_000, compile: (state) => state });

/** The ids of the orgs a user is a member of, ascending, by user id. */
export const membershipCache = new TieredCache<readonly string[], readonly string[]>({
  namespace: "membership",
  maxEntries: 10_000,
  compile: (orgIds) => orgIds,
});

/** The cache key of a session token. */
export function sessionCacheKey(token: string): Promise<string> {
  return sha256Hex(token);
}

/** Drops a session from this isolate's memory and from KV (sign-out, revocation, expiry). */
export async function forgetSession(kv: KVNamespace, token: string): Promise<void> {
  await sessionCache.invalidate(kv, await sessionCacheKey(token));
}

/** Drops a user's memberships from this isolate's memory and from KV (member added or removed). */
export async function forgetMemberships(kv: KVNamespace, userId: string): Promise<void> {
  await membershipCache.invalidate(kv, userId);
}
