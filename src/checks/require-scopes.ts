/**
 * @module
 * The scope check (SPEC §3, §4): every required scope must be satisfied by the caller's grants.
 */
import type { Context, MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import type { CallerEnv } from "../http/context";
import { bearerChallenge, unauthorized } from "../http/challenge";
import { principalOf } from "../caller/caller";
import type { KeygateScope } from "../core/scope-grammar";
import { missingScopes } from "../core/scopes";

/**
 * Scopes a route requires: a fixed list of `S` (typed, so a typo does not compile), or read from
 * the request (the gateway's policy routes).
 */
export type RequiredScopes<S extends string, E extends CallerEnv = CallerEnv> = readonly S[] | ((c: Context<E>) => readonly string[]);

/**
 * Lets the request through only when the caller (an API key or OAuth token) holds `scopes` (all
 * of them). ADMIN_TOKEN holds every scope; an anonymous caller (a public route's) holds none; a
 * session caller skips scopes (SPEC §1: its org membership was checked instead). Without a
 * resolved caller (a keygate/hono app that mounted it where `keygate` does not run) it fails closed.
 * @typeParam S - The scopes a fixed list may name: Keygate's own by default; for a catalog,
 *   `requireScopes<CatalogScope<typeof catalog>>(["content:read"])`.
 * @typeParam E - The env a `scopes` callback reads (the gateway's reads `c.var.route`).
 * @example app.post("/keys", requireScopes(["keygate:keys:write"]), createKey)
 * @throws {KeygateError} 403 `insufficient_scope` with `requiredScopes` and `missingScopes`.
 */
export function requireScopes<S extends string = KeygateScope, E extends CallerEnv = CallerEnv>(
  scopes: RequiredScopes<NoInfer<S>, E>,
): MiddlewareHandler<E> {
  const requiredOf = typeof scopes === "function" ? scopes : () => scopes;
  return async function requireScopesMiddleware(c, next) {
    // Typed present, but an app's route may mount this without keygate in front.
    const caller = c.get("caller") as E["Variables"]["caller"] | undefined;
    if (caller === undefined) throw new KeygateError("INTERNAL", "requireScopes runs after keygate");
    const required = requiredOf(c);
    if (caller.kind === "anonymous" && required.length > 0) throw unauthorized(c, "missing credentials");
    const principal = principalOf(caller);
    if (principal) {
      const missing = missingScopes(principal.grants, required);
      if (missing.length > 0) {
        throw new KeygateError("FORBIDDEN", "insufficient_scope", {
          details: { requiredScopes: required, missingScopes: missing },
          headers: bearerChallenge(c, "insufficient_scope", required),
        });
      }
    }
    await next();
  };
}
