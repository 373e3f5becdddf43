/**
 * @module
 * The rate-limit check (SPEC §11), last before the origin: a request refused by any earlier check
 * (400, 401, 403) never reaches it, so it never counts, and nobody can drain another's limits by
 * sending their key with the wrong scopes. Limited callers get `RateLimit-Policy` and `RateLimit`
 * on every response that passed this check, and on its 429.
 */
import type { Context, MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import { checkLimits, isLimited, type LimitSubject } from "../ratelimit/check";
import { rateLimitHeaders } from "../ratelimit/headers";
import type { RoutedEnv } from "../http/context";

/**
 * Counts the request against the caller's limits: an API key's own (counted under its rotation
 * root), or the policy's `rate_limits.oauth` for OAuth tokens (counted per user and client).
 * Sessions, ADMIN_TOKEN and anonymous callers are not limited.
 * @throws {KeygateError} 429 `rate_limited` with `Retry-After` and `details.violated_policies`;
 *   503 when the exact tier is unreachable.
 */
export function enforceRateLimits(): MiddlewareHandler<RoutedEnv> {
  return async function enforceRateLimitsMiddleware(c, next) {
    const subject = limitSubjectOf(c);
    if (!subject || !isLimited(subject)) return next();
    const decision = await checkLimits(c.env, subject, c.get("route").route.cost);
    const headers = rateLimitHeaders(decision.policies);
    if (!decision.allowed) {
      throw new KeygateError("RATE_LIMITED", "rate_limited", {
        details: { violated_policies: decision.violated },
        headers: { ...headers, "Retry-After": String(decision.retryAfterS) },
      });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

/** Whose counters the caller's request counts against, `undefined` for an unlimited kind of caller. */
function limitSubjectOf(c: Context<RoutedEnv>): LimitSubject | undefined {
  const caller = c.get("caller");
  if (caller.kind === "api_key") {
    return { counterId: caller.key.counterId, rateLimits: caller.key.rateLimits, quota: caller.key.quota };
  }
  if (caller.kind === "oauth") {
    const { userId, clientId } = caller.token;
    return { counterId: `oauth:${userId}:${clientId}`, rateLimits: c.get("policy").oauthRateLimits, quota: null };
  }
  return undefined;
}
