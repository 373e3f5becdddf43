/**
 * Type tests, checked by `npm run typecheck` (never run): each chain's context declares only what
 * its middleware set, so `c.var.route` is there only behind `matchRoute`.
 */
import type { Context } from "hono";
import type { CallerEnv, KeygateEnv, RoutedEnv } from "../../src/http/context";

export function onTheGateway(c: Context<RoutedEnv>) {
  return [c.var.route.route.scopes, c.var.caller.kind, c.var.requestId];
}

export function atTheAdminApi(c: Context<CallerEnv>) {
  // @ts-expect-error the admin chain runs no matchRoute
  c.var.route;
  return c.var.caller.kind;
}

export function beforeAnyCheck(c: Context<KeygateEnv>) {
  // @ts-expect-error no caller before resolveCaller (health, OAuth and auth routes never run it)
  c.var.caller;
  return c.var.requestId;
}
