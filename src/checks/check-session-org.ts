/**
 * @module
 * The org a session caller acts for (SPEC §1): exactly one org the user belongs to. On a route that
 * names a project, the org that owns it (else 403 `project_mismatch`); on a route that names none,
 * or an `"origin"` route, the session's active organization, else the user's only membership (else
 * 403 `org_required`). Routes with `sessions: false` refuse sessions (403 `org_required`).
 */
import type { MiddlewareHandler } from "hono";
import { sessionMembership } from "../auth/session";
import { KeygateError } from "../errors";
import { cacheContext } from "../http/cache-context";
import { namedProject, projectMismatch } from "./check-project";
import type { RoutedEnv } from "../http/context";

/**
 * Sets `c.var.orgId` (and `c.var.projectId` when the route names one) for session callers; other
 * callers pass untouched. On a public route a session with no org to act for passes as anonymous:
 * it needs no credential there, and the origin never sees a session without its org.
 * @throws {KeygateError} 403 `org_required` or `project_mismatch`; 503 when D1 is needed and down.
 */
export function checkSessionOrg(): MiddlewareHandler<RoutedEnv> {
  return async function checkSessionOrgMiddleware(c, next) {
    const caller = c.get("caller");
    if (caller.kind === "session") {
      const { route } = c.get("route");
      if (!route.sessions) throw orgRequired("this route does not accept dashboard sessions");
      const projectId = namedProject(c);
      const membership = await sessionMembership(cacheContext(c), c.env, caller, projectId);
      if (membership !== null) {
        c.set("orgId", membership.orgId);
        c.set("projectId", projectId);
      } else if (projectId !== undefined) {
        throw projectMismatch();
      } else if (route.public) {
        c.set("caller", { kind: "anonymous" });
      } else {
        throw orgRequired("choose an organization (better-auth's organization/set-active) to act for");
      }
    }
    await next();
  };
}

function orgRequired(reason: string): KeygateError {
  return new KeygateError("FORBIDDEN", "org_required", { details: { reason } });
}
