/**
 * @module
 * CSRF protection for dashboard sessions (SPEC §1): a browser sends the session cookie with any
 * request to the gateway, also one that another site's page starts. An unsafe request with a
 * session is therefore let through only from a page of one of the policy's `cors.origins`.
 */
import type { MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import type { CallerEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";

const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

export interface SessionOriginOptions {
  /** Whether the Worker's own origin is trusted too (the admin API, called by the console it serves). */
  trustOwnOrigin?: boolean;
}

/**
 * Session callers' unsafe methods need an `Origin` listed in the policy's `cors.origins` (or, with
 * `trustOwnOrigin`, the Worker's own); other callers and safe methods pass untouched.
 * @throws {KeygateError} 403 `origin_not_allowed`.
 */
export function checkSessionOrigin(options: SessionOriginOptions = {}): MiddlewareHandler<CallerEnv> {
  return async function checkSessionOriginMiddleware(c, next) {
    if (c.get("caller").kind === "session" && !SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      const own = options.trustOwnOrigin === true && origin === new URL(c.req.url).origin;
      if (origin === undefined || (!own && !loadPolicy(c.env).cors.origins.has(origin))) throw new KeygateError("FORBIDDEN", "origin_not_allowed");
    }
    await next();
  };
}
