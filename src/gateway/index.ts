/**
 * @module
 * The gateway: every request outside `/_keygate` goes through these checks, top to bottom, and the
 * first failure answers (SPEC §4): route, credential, revocation, validity window, IP, Origin,
 * project, scopes, MCP message checks, method override parameters, rate limits; then the origin.
 * Every request, allowed or not, leaves one audit event.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { auditRequests } from "../audit/record";
import { checkProject } from "../checks/check-project";
import { checkSessionOrg } from "../checks/check-session-org";
import { checkSessionOrigin } from "../checks/check-session-origin";
import type { KeygateEnv, RoutedEnv } from "../http/context";
import { forward } from "./forward";
import { matchRoute } from "../checks/match-route";
import { checkMcpMessages } from "./mcp/check-mcp";
import { refuseMethodOverride } from "./method-override";
import { policyCors } from "./policy-cors";
import { enforceRateLimits } from "../checks/rate-limit";
import { requireScopes } from "../checks/require-scopes";
import { checkKeyRestrictions } from "../checks/restrictions";
import { resolveCaller } from "../checks/resolve-caller";

export const gateway = new Hono<KeygateEnv>();

/**
 * One middleware that runs `handlers` in order, typed with their env: Hono types at most ten
 * handlers per route, and the chain below has more.
 */
function inSequence<E extends RoutedEnv>(...handlers: MiddlewareHandler<E>[]): MiddlewareHandler<E> {
  return every(...handlers);
}

gateway.use(auditRequests(), policyCors());
gateway.all(
  "*",
  matchRoute(),
  resolveCaller({ allowAnonymous: (c) => c.var.route?.route.public === true, acceptAdminToken: false }),
  checkKeyRestrictions(),
  checkSessionOrigin(),
  checkSessionOrg(),
  checkProject(),
  requireScopes<string, RoutedEnv>((c) => c.var.route.route.scopes),
  inSequence(checkMcpMessages(), refuseMethodOverride()),
  enforceRateLimits(),
  forward(),
);
