/**
 * @module
 * The first check of every gateway request: a well-formed path that a policy route covers
 * (SPEC §4, §5). It runs before any credential is looked at; the origin never sees the rest.
 */
import type { MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import type { Bindings } from "../env";
import type { MatchRouteVariables } from "../http/context";
import type { PolicySource } from "../policy/compile";
import { requestPathIssue, trailingSlashIssue } from "../policy/match";

/**
 * Sets `c.var.policy`, and `c.var.route` to the first route of it matching the request.
 * @param policyOf - Keygate's Worker loads its policy from the env; a keygate/hono app's is fixed.
 * @throws {KeygateError} 500 `POLICY_INVALID`, 400 for an ambiguous path (also a trailing slash that
 *   changes the route), 404 `no route`.
 */
export function matchRoute(policyOf: PolicySource): MiddlewareHandler<{ Bindings: Bindings; Variables: MatchRouteVariables }> {
  return async function matchRouteMiddleware(c, next) {
    const policy = policyOf(c.env);
    c.set("policy", policy);
    const issue = requestPathIssue(c.req.url);
    if (issue !== undefined) throw KeygateError.badRequest([{ path: "path", message: issue }]);
    const match = policy.matchRoute(c.req.method, c.req.path);
    if (!match) throw new KeygateError("NOT_FOUND", "no route");
    const slash = trailingSlashIssue(policy, c.req.method, c.req.path, match);
    if (slash !== undefined) throw KeygateError.badRequest([{ path: "path", message: slash }]);
    c.set("route", match);
    await next();
  };
}
