/**
 * @module
 * What the gateway remembers about dashboard sessions, in the same memory → KV → D1 tiers as API
 * keys: a session by the SHA-256 of its token (never the token itself), and the one membership a
 * request needs, by user and project (or user and active org). better-auth's hooks forget an entry
 * the moment the session changes or ends, or a membership changes, in this Worker; elsewhere
 * entries live at most KEY_CACHE_TTL_S.
 */
import { z } from "zod";
import { TieredCache } from "../cache/tiered";
import type { SessionMembership } from "../db/orgs";
import { sha256Hex } from "../core/sha256";

/**
 * A live session as the gateway needs it; this is what KV holds. `expiresAt` is epoch ms: the
 * session is refused from then on, even while its cache entry is fresh. `activeOrgId` is
 * better-auth's active organization of the session.
 */
const SessionStateSchema = z.object({ userId: z.string(), expiresAt: z.number(), activeOrgId: z.string().nullable().default(null) });
export type SessionState = z.infer<typeof SessionStateSchema>;

/** Sessions by the SHA-256 hex digest of their token. */
export const sessionCache = new TieredCache<SessionState, SessionState>({
  namespace: "session",
  maxEntries: 10_000,
  schema: SessionStateSchema,
  compile: (state) => state,
});

/** One membership of a user, by {@link projectMembershipId} or {@link defaultMembershipId}. */
export const membershipCache = new TieredCache<SessionMembership, SessionMembership>({
  // Not "membership": KV entries of that name hold an older shape (all of a user's org ids).
  namespace: "member",
  maxEntries: 10_000,
  schema: z.object({ orgId: z.string(), role: z.string() }),
  compile: (membership) => membership,
});

/** The user's membership in the org that owns `projectId`. */
export function projectMembershipId(userId: string, projectId: string): string {
  return `${userId}/project/${projectId}`;
}

/** The user's membership in `activeOrgId`, or with no active org, the user's only one. */
export function defaultMembershipId(userId: string, activeOrgId: string | null): string {
  return activeOrgId === null ? `${userId}/only` : `${userId}/org/${activeOrgId}`;
}

/** The cache key of a session token. */
export function sessionCacheKey(token: string): Promise<string> {
  return sha256Hex(token);
}

/** Drops a session from this isolate's memory and from KV (sign-out, revocation, active org change). */
export async function forgetSession(kv: KVNamespace, token: string): Promise<void> {
  await sessionCache.invalidate(kv, await sessionCacheKey(token));
}

/** Drops every membership entry of a user from this isolate's memory and from KV (member added or removed). */
export async function forgetMemberships(kv: KVNamespace, userId: string): Promise<void> {
  await membershipCache.invalidateGroup(kv, userId);
}
