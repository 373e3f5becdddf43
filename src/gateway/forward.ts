/**
 * @module
 * The last step of an allowed request: forward it to the origin with the caller's identity.
 */
import type { MiddlewareHandler } from "hono";
import { getConfig } from "../env";
import { identityOf } from "../checks/expose-identity";
import type { RoutedEnv } from "../http/context";
import { forwardToOrigin } from "./proxy";

export function forward(): MiddlewareHandler<RoutedEnv> {
  return async function forwardHandler(c) {
    const url = new URL(c.req.url);
    const identity = identityOf(c);
    const { headerLocators } = c.get("policy");
    return forwardToOrigin(c.req.raw, { path: url.pathname, search: url.search }, identity, getConfig(c.env), headerLocators);
  };
}
