/**
 * @module
 * The last step of an allowed request: forward it to the origin with the caller's identity.
 */
import type { MiddlewareHandler } from "hono";
import { getConfig } from "../env";
import type { KeygateIdentity } from "../origin/identity";
import type { Caller, KeygateEnv } from "./context";
import { forwardToOrigin } from "./proxy";

export function forward(): MiddlewareHandler<KeygateEnv> {
  return async function forwardHandler(c) {
    const url = new URL(c.req.url);
    const identity = identityOf(c.var.caller, c.var.projectId, c.var.requestId);
    return forwardToOrigin(c.req.raw, { path: url.pathname, search: url.search }, identity, getConfig(c.env));
  };
}

function identityOf(caller: Caller, projectId: string | undefined, requestId: string): KeygateIdentity {
  switch (caller.kind) {
    case "api_key":
      return { caller: "api_key", keyId: caller.key.id, orgId: caller.key.orgId, projectId, scopes: caller.key.scopes, requestId };
    case "admin":
      return { caller: "admin", scopes: [], requestId };
    case "anonymous":
      return { scopes: [], requestId };
  }
}
