/**
 * @module
 * Brute-force limits on the endpoints that take a guessable secret: sign-in and sign-up (through
 * better-auth's rate limiter, with this D1 storage) and the OAuth device flow's user-code entry
 * ({@link limitAttempts}). Counted in D1, so every isolate and location shares one count per client
 * address and endpoint; a refusal is 429 `RATE_LIMITED` with `Retry-After`.
 */
import type { BetterAuthOptions } from "better-auth";
import { getIP } from "better-auth/api";
import type { MiddlewareHandler } from "hono";
import { countAttempt, deleteAttemptsBefore } from "../db/attempts";
import { KeygateError } from "../errors";
import type { KeygateEnv } from "../http/context";

/** At most `max` attempts per `window` seconds (better-auth's rule shape). */
export interface AttemptRule {
  window: number;
  max: number;
}

/**
 * Where the client address comes from (better-auth's `advanced.ipAddress`): `CF-Connecting-IP`
 * only. IPv6 addresses count per /64 (better-auth's default), so one host cannot rotate through
 * its own prefix.
 */
export const CLIENT_ADDRESS = { ipAddressHeaders: ["cf-connecting-ip"] };

/** Sign-in and sign-up, per client address and endpoint. */
export const CREDENTIAL_ATTEMPTS: AttemptRule = { window: 60, max: 5 };
/** Entering a device flow user code, per client address. */
export const USER_CODE_ATTEMPTS: AttemptRule = { window: 60, max: 10 };
/** Dynamic client registration is open to anyone: without a limit, one address could fill D1 with clients. */
export const CLIENT_REGISTRATIONS: AttemptRule = { window: 3600, max: 20 };

type RateLimitStorage = NonNullable<NonNullable<BetterAuthOptions["rateLimit"]>["customStorage"]>;

export interface AttemptDecision {
  allowed: boolean;
  /** Seconds until the window frees up; `null` when allowed. */
  retryAfter: number | null;
}

/**
 * Counts one attempt against `key` and decides it.
 * @throws {KeygateError} `UNAVAILABLE` when D1 cannot count it: an uncounted attempt is refused.
 */
export async function consumeAttempt(db: D1Database, key: string, rule: AttemptRule, now = Date.now()): Promise<AttemptDecision> {
  const windowMs = rule.window * 1000;
  let counted;
  try {
    counted = await countAttempt(db, key, windowMs, now);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "attempt count failed", error: String(error) }));
    throw new KeygateError("UNAVAILABLE", "auth backend unavailable", { headers: { "Retry-After": "5" } });
  }
  if (counted.count <= rule.max) return { allowed: true, retryAfter: null };
  return { allowed: false, retryAfter: Math.max(1, Math.ceil((counted.windowStart + windowMs - now) / 1000)) };
}

/** Counters are kept well past the longest window (a minute), then deleted by the retention cron. */
const ATTEMPT_RETENTION_MS = 3_600_000;

/** Deletes the counters of windows that ended long ago; returns how many. */
export function pruneAttempts(db: D1Database, now = Date.now()): Promise<number> {
  return deleteAttemptsBefore(db, now - ATTEMPT_RETENTION_MS);
}

/** better-auth's `rateLimit.customStorage`, counting in D1. */
export function attemptStorage(db: D1Database): RateLimitStorage {
  return { consume: (key, rule) => consumeAttempt(db, key, rule) };
}

/** The contract's 429 for too many attempts. */
export function tooManyAttempts(retryAfter: number, policy: string): KeygateError {
  return new KeygateError("RATE_LIMITED", "rate_limited", {
    details: { violated_policies: [policy] },
    headers: { "Retry-After": String(retryAfter) },
  });
}

/**
 * Limits attempts at a Keygate endpoint to `rule` per client address, read as better-auth reads it
 * ({@link CLIENT_ADDRESS}).
 * @param name - Names the counter and the violated policy (`oauth-user-code`).
 * @throws {KeygateError} 429 `RATE_LIMITED` with `Retry-After`; 503 when D1 cannot count.
 * @example oauthRoutes.post("/device", limitAttempts("oauth-user-code", USER_CODE_ATTEMPTS), decide)
 */
export function limitAttempts(name: string, rule: AttemptRule): MiddlewareHandler<KeygateEnv> {
  return async function limitAttemptsMiddleware(c, next) {
    const client = getIP(c.req.raw, { advanced: { ipAddress: CLIENT_ADDRESS } }) ?? "unknown";
    const decision = await consumeAttempt(c.env.DB, `${name}:${client}`, rule);
    if (!decision.allowed) throw tooManyAttempts(decision.retryAfter!, name);
    await next();
  };
}
