/**
 * @module
 * The identity of a checked request (SPEC §6): what the gateway sends the origin as `x-keygate-*`
 * headers, and what keygate/hono gives an app's handlers as `c.var.identity`, the same fields
 * either way.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { CallerEnv } from "../http/context";
import type { KeygateIdentity } from "../origin/identity";

/** What {@link exposeIdentity} sets. */
export interface IdentityVariables {
  identity: KeygateIdentity;
}

/** Sets `c.var.identity` once every check passed. */
export function exposeIdentity(): MiddlewareHandler<{ Bindings: CallerEnv["Bindings"]; Variables: CallerEnv["Variables"] & IdentityVariables }> {
  return async function exposeIdentityMiddleware(c, next) {
    c.set("identity", identityOf(c));
    await next();
  };
}

/**
 * The identity of the request's caller, for the project it was checked against. Read with `c.get`:
 * Hono's `c.var` copies every variable into a new object on each read.
 */
export function identityOf<E extends CallerEnv>(c: Context<E>): KeygateIdentity {
  type Variables = CallerEnv["Variables"];
  const caller: Variables["caller"] = c.get("caller");
  const orgId: Variables["orgId"] = c.get("orgId");
  const projectId: Variables["projectId"] = c.get("projectId");
  const requestId: Variables["requestId"] = c.get("requestId");
  switch (caller.kind) {
    case "api_key":
      return { caller: "api_key", keyId: caller.key.id, orgId: caller.key.orgId, projectId, scopes: caller.key.scopes, requestId };
    case "oauth": {
      const { token } = caller;
      return { caller: "oauth", userId: token.userId, orgId: token.orgId, projectId, scopes: token.scopes, requestId };
    }
    case "session":
      return { caller: "session", userId: caller.userId, orgId, projectId, scopes: [], requestId };
    case "admin":
      return { caller: "admin", scopes: [], requestId };
    case "anonymous":
      return { scopes: [], requestId };
  }
}
