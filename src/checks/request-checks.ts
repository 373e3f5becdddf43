/**
 * @module
 * The checks of a request to a policy route, in SPEC §4's order (the first failure answers):
 * route, credential, revocation, validity window, IP, Origin, project, scopes, then rate limits.
 * Keygate's gateway runs them in front of the origin; keygate/hono in front of an app's handlers.
 * One list, so the two never drift apart.
 */
import type { Env, MiddlewareHandler } from "hono";
import type { CallerEnv, RoutedEnv } from "../http/context";
import type { PolicySource } from "../policy/compile";
import { checkProject } from "./check-project";
import { matchRoute } from "./match-route";
import { enforceRateLimits } from "./rate-limit";
import { requireScopes } from "./require-scopes";
import { checkKeyRestrictions } from "./restrictions";
import { resolveCaller, type SessionVerifier } from "./resolve-caller";

export interface RequestChecksOptions {
  policyOf: PolicySource;
  /**
   * Dashboard sessions as callers (the gateway's): how their cookies are verified, and the checks
   * of a session (CSRF, the org it acts for), which run after the key restrictions. Without it,
   * session cookies are not credentials.
   */
  sessions?: { verify: SessionVerifier; checks: readonly RoutedCheck[] };
  /** Checks of the message itself after the scopes (the gateway's MCP checks, SPEC §10). */
  messageChecks?: readonly RoutedCheck[];
}

/** A check that runs where the caller is resolved and the route matched. */
type RoutedCheck = MiddlewareHandler<CallerEnv> | MiddlewareHandler<RoutedEnv>;

/**
 * The checks, each typed for the env of the request once the checks before it ran (`RoutedEnv` is
 * what the last one sees).
 */
export function requestChecks(options: RequestChecksOptions): MiddlewareHandler<RoutedEnv>[] {
  return [
    behind(matchRoute(options.policyOf)),
    behind(resolveCaller({
      allowAnonymous: (c) => c.get("route")?.route.public === true,
      acceptAdminToken: false,
      ...(options.sessions && { verifySession: options.sessions.verify }),
    })),
    behind(checkKeyRestrictions()),
    ...(options.sessions?.checks ?? []).map(behind),
    checkProject(),
    requireScopes<string, RoutedEnv>((c) => c.get("route").route.scopes),
    ...(options.messageChecks ?? []).map(behind),
    enforceRateLimits(),
  ];
}

/**
 * A check as a member of the list: Hono types a literal chain (`app.use(a, b, c)`) by what each
 * middleware sets for the next; a list cannot carry that, and its order above is what makes every
 * check's variables present.
 */
function behind<E extends Env>(check: MiddlewareHandler<E> | MiddlewareHandler<RoutedEnv>): MiddlewareHandler<RoutedEnv> {
  return check as unknown as MiddlewareHandler<RoutedEnv>;
}
