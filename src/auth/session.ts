/**
 * @module
 * Dashboard sessions at the edge (SPEC §1). A session cookie holds better-auth's signed
 * `<token>.<signature>`; the signature is checked first, without any KV or D1 read, so forged
 * cookies cost nothing. The session itself is read with better-auth's `getSession`, and the one
 * membership a request acts with by one indexed query, both through the tiered cache (see
 * ./session-cache).
 */
import type { CacheContext } from "../cache/tiered";
import { findDefaultMembership, findProjectMembership, type SessionMembership } from "../db/orgs";
import { readDb } from "../db/session";
import type { Bindings } from "../env";
import { getAuth } from "./auth";
import {
  defaultMembershipId,
  membershipCache,
  projectMembershipId,
  sessionCache,
  sessionCacheKey,
  type SessionState,
} from "./session-cache";

/** A signed-in user, as the gateway authorizes it. */
export interface VerifiedSession {
  userId: string;
  /** better-auth's active organization of the session (the user may have left it since). */
  activeOrgId: string | null;
}

/** A base64 HMAC-SHA256, as better-auth signs cookies. */
const SIGNATURE_LENGTH = 44;

const signingKeys = new Map<string, Promise<CryptoKey>>();

/**
 * The user behind a session cookie's value, `null` when the cookie is malformed, forged, unknown,
 * signed out or expired.
 * @param ctx - The request's cache context; its `now` also decides expiry.
 * @param cookieValue - The cookie's decoded value, `<token>.<signature>`.
 * @throws {KeygateError} `UNAVAILABLE` when D1 is needed and unreachable.
 */
export async function verifySession(ctx: CacheContext, env: Bindings, cookieValue: string): Promise<VerifiedSession | null> {
  const auth = getAuth(env);
  const { secret, authCookies } = await auth.$context;
  const token = await verifiedToken(cookieValue, secret);
  if (token === null) return null;

  const session = await sessionCache.get(ctx, await sessionCacheKey(token), async (): Promise<SessionState | null> => {
    // better-auth reads its own cookie name; the gateway also accepts the others (SPEC §1).
    const headers = new Headers({ cookie: `${authCookies.sessionToken.name}=${encodeURIComponent(cookieValue)}` });
    // No refresh: the gateway cannot set the refreshed cookie; dashboards refresh via get-session.
    const found = await auth.api.getSession({ headers, query: { disableRefresh: true } });
    return found && { userId: found.user.id, expiresAt: found.session.expiresAt.getTime(), activeOrgId: found.session.activeOrganizationId ?? null };
  });
  if (session === null || ctx.now >= session.expiresAt) return null;
  // Entries cached by an earlier version (at most KEY_CACHE_TTL_S old) have no activeOrgId.
  return { userId: session.userId, activeOrgId: session.activeOrgId ?? null };
}

/**
 * The one org a session acts for (SPEC §1) and the user's role there, `null` when there is none:
 * with `projectId`, the org that owns it if the user is a member; without, the session's active
 * org if the user is still a member, else (no active org) the user's only membership. A user who
 * left the active org gets `null`, never another org in its place.
 * @throws {KeygateError} `UNAVAILABLE` when D1 is needed and unreachable.
 */
export async function sessionMembership(
  ctx: CacheContext,
  env: Bindings,
  session: VerifiedSession,
  projectId: string | undefined,
): Promise<SessionMembership | null> {
  const { userId, activeOrgId } = session;
  if (projectId !== undefined) {
    return membershipCache.get(ctx, projectMembershipId(userId, projectId), () => findProjectMembership(readDb(env), userId, projectId));
  }
  return membershipCache.get(ctx, defaultMembershipId(userId, activeOrgId), () => findDefaultMembership(readDb(env), userId, activeOrgId));
}

/** The token of a correctly signed `<token>.<signature>`, else `null`. */
async function verifiedToken(signed: string, secret: string): Promise<string | null> {
  const dot = signed.lastIndexOf(".");
  const signature = signed.slice(dot + 1);
  if (dot < 1 || signature.length !== SIGNATURE_LENGTH) return null;
  const token = signed.slice(0, dot);
  const bytes = base64Bytes(signature);
  if (bytes === null) return null;
  const valid = await crypto.subtle.verify("HMAC", await signingKey(secret), bytes, new TextEncoder().encode(token));
  return valid ? token : null;
}

function signingKey(secret: string): Promise<CryptoKey> {
  let key = signingKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    signingKeys.set(secret, key);
  }
  return key;
}

function base64Bytes(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
