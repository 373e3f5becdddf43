/**
 * @module
 * CORS from the policy's `cors` block (SPEC §5): preflights of routed paths are answered at the
 * edge and never forwarded; every response to a listed origin, errors included, carries the CORS
 * headers so browser clients can read a 401 or 403.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { oncePer } from "../core/memo";
import type { KeygateEnv } from "../http/context";
import type { CompiledPolicy, PolicySource } from "../policy/compile";

// Browser MCP clients must read the session id the server assigns (MCP Streamable HTTP).
const EXPOSED_HEADERS = ["x-request-id", "www-authenticate", "retry-after", "ratelimit", "ratelimit-policy", "mcp-session-id"];

export function policyCors(policyOf: PolicySource): MiddlewareHandler<KeygateEnv> {
  return async function policyCorsMiddleware(c, next) {
    const policy = policyOf(c.env);
    if (c.req.method === "OPTIONS" && policy.allowedMethods(c.req.path).length === 0) {
      // Not a routed path: no preflight answer, but a listed origin may still read the 404.
      const origin = c.req.header("origin");
      // Set on c.res (not c.header) so they survive the error response replacing it.
      const headers = c.res.headers;
      if (origin !== undefined && policy.cors.origins.has(origin)) {
        headers.set("Access-Control-Allow-Origin", origin);
        headers.set("Access-Control-Allow-Credentials", "true");
        headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(","));
      }
      headers.append("Vary", "Origin");
      return next();
    }
    if (c.req.method !== "OPTIONS" && c.req.header("origin") === undefined) {
      // Not a CORS request (browsers send Origin on every cross-origin one): no CORS header applies,
      // and skipping Hono's cors() spares every server-to-server request its response copies.
      // Vary still tells caches that a request with an Origin may get another answer.
      await next();
      c.res.headers.append("Vary", "Origin");
      return;
    }
    return corsFor(policy)(c, next);
  };
}

const corsFor = oncePer(
  (policy: CompiledPolicy): MiddlewareHandler<KeygateEnv> =>
    cors({
      origin: (origin) => (policy.cors.origins.has(origin) ? origin : null),
      allowMethods: (_origin, c) => [...policy.allowedMethods(c.req.path), "OPTIONS"],
      credentials: true,
      maxAge: policy.cors.maxAge,
      exposeHeaders: EXPOSED_HEADERS,
    }),
);
