/**
 * @module
 * Project binding (SPEC §5 `project`): the project a request names must belong to the caller's org,
 * and be the caller's bound project if it has one. An OAuth token granted for one project is bound
 * like a key; one granted without a project acts like an unbound key of its org. Session callers
 * are checked by ./check-session-org instead.
 */
import type { Context, MiddlewareHandler } from "hono";
import { projectExists } from "../db/orgs";
import { readDb } from "../db/session";
import { KeygateError } from "../errors";
import { projectCache, projectCacheId } from "../credentials/key-cache";
import { cacheContext } from "../http/cache-context";
import type { RoutedEnv } from "../http/context";
import { locateProject } from "../policy/match";
import { principalOf } from "../caller/caller";
import type { Principal } from "../caller/principal";

/** Sets `c.get("projectId")` to the checked or bound project of an API key or OAuth caller. */
export function checkProject(): MiddlewareHandler<RoutedEnv> {
  return async function checkProjectMiddleware(c, next) {
    const principal = principalOf(c.get("caller"));
    if (principal) c.set("projectId", await projectFor(c, principal));
    await next();
  };
}

async function projectFor(c: Context<RoutedEnv>, principal: Principal): Promise<string | undefined> {
  const bound = principal.projectId ?? undefined;
  // A public route is open to anyone: a bound caller is not denied what an anonymous one gets.
  if (c.get("route").route.project === "origin" || c.get("route").route.public) return bound;

  const named = namedProject(c);
  if (named === undefined) {
    if (bound !== undefined) throw projectMismatch();
    return undefined;
  }
  if (bound !== undefined) {
    if (named !== bound) throw projectMismatch();
    return named;
  }
  if (!(await isOrgProject(c, principal.orgId, named))) throw projectMismatch();
  return named;
}

/** The project the request names; `undefined` on `"origin"` routes, routes without one, or when omitted. */
export function namedProject(c: Context<RoutedEnv>): string | undefined {
  const { route, params } = c.get("route");
  if (route.project === undefined || route.project === "origin") return undefined;
  const located = locateProject(route.project, c.req.raw, params, new URL(c.req.url));
  if (!located.ok) throw KeygateError.badRequest([located.issue]);
  return located.projectId;
}

async function isOrgProject(c: Context<RoutedEnv>, orgId: string, projectId: string): Promise<boolean> {
  const found = await projectCache.get(cacheContext(c), projectCacheId(orgId, projectId), async () =>
    (await projectExists(readDb(c.env), orgId, projectId)) ? true : null,
  );
  return found === true;
}

export function projectMismatch(): KeygateError {
  return new KeygateError("FORBIDDEN", "project_mismatch");
}
