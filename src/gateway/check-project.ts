/**
 * @module
 * Project binding (SPEC §5 `project`): the project a request names must belong to the caller's org,
 * and be the caller's bound project if it has one.
 */
import type { Context, MiddlewareHandler } from "hono";
import { projectExists } from "../db/orgs";
import { readDb } from "../db/session";
import { KeygateError } from "../errors";
import type { ActiveKey } from "./active-key";
import { projectCache } from "./active-key";
import { cacheContext } from "./cache-context";
import type { KeygateEnv } from "./context";
import { locateProject } from "./policy";

/** Sets `c.var.projectId` to the checked or bound project. */
export function checkProject(): MiddlewareHandler<KeygateEnv> {
  return async function checkProjectMiddleware(c, next) {
    const caller = c.var.caller;
    if (caller.kind === "api_key") c.set("projectId", await projectFor(c, caller.key));
    await next();
  };
}

async function projectFor(c: Context<KeygateEnv>, key: ActiveKey): Promise<string | undefined> {
  const { route, params } = c.var.route;
  const bound = key.projectId ?? undefined;
  if (route.project === "origin") return bound;

  let named: string | undefined;
  if (route.project !== undefined) {
    const located = locateProject(route.project, c.req.raw, params, new URL(c.req.url));
    if (!located.ok) throw KeygateError.badRequest([located.issue]);
    named = located.projectId;
  }
  if (named === undefined) {
    if (bound !== undefined) throw projectMismatch();
    return undefined;
  }
  if (bound !== undefined) {
    if (named !== bound) throw projectMismatch();
    return named;
  }
  if (!(await isOrgProject(c, key.orgId, named))) throw projectMismatch();
  return named;
}

async function isOrgProject(c: Context<KeygateEnv>, orgId: string, projectId: string): Promise<boolean> {
  const found = await projectCache.get(cacheContext(c), `${orgId}/${projectId}`, async () =>
    (await projectExists(readDb(c.env), orgId, projectId)) ? true : null,
  );
  return found === true;
}

function projectMismatch(): KeygateError {
  return new KeygateError("FORBIDDEN", "project_mismatch");
}
