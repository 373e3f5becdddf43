/**
 * @module
 * The last step of an allowed request: forward it to the origin with the caller's identity.
 */
import type { MiddlewareHandler } from "hono";
import { getConfig } from "../env";
import type { KeygateIdentity } from "../origin/identity";
import type { CallerEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { forwardToOrigin } from "./proxy";

export function forward(): MiddlewareHandler<CallerEnv> {
  return async function forwardHandler(c) {
    const url = new URL(c.req.url);
    const identity = identityOf(c.var);
    const { headerLocators } = loadPolicy(c.env);
    return forwardToOrigin(c.req.raw, { path: url.pathname, search: url.search }, identity, getConfig(c.env), headerLocators);
  };
}

function identityOf({ caller, orgId, projectId, requestId }: CallerEnv["Variables"]): KeygateIdentity {
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
