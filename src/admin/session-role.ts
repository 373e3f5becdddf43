/**
 * @module
 * Dashboard sessions at the admin API (SPEC §8): a session acts for one org it belongs to, with
 * the scopes of its role there. The org is the one the request names (`org_id` in the query or
 * JSON body, or the `:id` of `/orgs/:id/…`), else the org owning the `project_id` it names, else
 * better-auth's active organization of the session (none if the user left it), else the user's
 * only membership. Roles are read
 * from D1 on each admin call (one query), so a demotion takes effect at once.
 */
import type { Context, MiddlewareHandler } from "hono";
import { listMemberships, orgOfProjectAmong, type Membership } from "../db/orgs";
import { KeygateError } from "../errors";
import type { SessionAdmin } from "../caller/caller";
import type { CallerEnv } from "../http/context";
import { OAUTH_PRINCIPAL_DEFAULTS } from "../caller/principal";
import { compileGrants } from "../core/scopes";
import { notFound } from "./actor";

/**
 * What each better-auth role holds. Owners and admins may also grant any catalog scope to the keys
 * they create (`*`, which never covers `keygate:` scopes); members only read.
 */
export const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  owner: ["*", "keygate:keys:write", "keygate:projects:write", "keygate:audit:read"],
  admin: ["*", "keygate:keys:write", "keygate:projects:write", "keygate:audit:read"],
  member: ["keygate:keys:read", "keygate:audit:read"],
};

/** The roles that manage an org's people (invitations). */
export const MANAGING_ROLES: ReadonlySet<string> = new Set(["owner", "admin"]);

export interface SessionRoleOptions {
  /** Whether this request may go on without an org (listing the user's own orgs). */
  orgOptional(c: Context<CallerEnv>): boolean;
}

/**
 * Gives a session caller its {@link SessionAdmin} for the org it acts for; other callers pass.
 * @throws {KeygateError} 404 for an org the user is not a member of (as if it did not exist),
 *   403 `org_required` when no org can be chosen.
 */
export function actForSessionOrg(options: SessionRoleOptions): MiddlewareHandler<CallerEnv> {
  return async function actForSessionOrgMiddleware(c, next) {
    const caller = c.var.caller;
    if (caller.kind === "session") {
      const memberships = await listMemberships(c.env.DB, caller.userId);
      const membership = await chooseMembership(c, memberships, caller.activeOrgId ?? null);
      if (membership) c.set("caller", { ...caller, admin: sessionAdmin(membership) });
      else if (!options.orgOptional(c)) throw new KeygateError("FORBIDDEN", "org_required");
    }
    await next();
  };
}

/** The principal of a member with `role` (better-auth joins several roles with `,`). */
export function sessionAdmin(membership: Membership): SessionAdmin {
  const roles = membership.role.split(",").map((role) => role.trim()).filter((role) => role !== "");
  const scopes = [...new Set(roles.flatMap((role) => ROLE_SCOPES[role] ?? []))];
  return { roles, principal: { ...OAUTH_PRINCIPAL_DEFAULTS, orgId: membership.org_id, projectId: null, grants: compileGrants(scopes) } };
}

async function chooseMembership(c: Context<CallerEnv>, memberships: Membership[], activeOrgId: string | null): Promise<Membership | undefined> {
  const named = await namedIds(c);
  const byOrg = (orgId: string) => memberships.find((membership) => membership.org_id === orgId);
  if (named.orgId !== undefined) {
    const membership = byOrg(named.orgId);
    if (!membership) throw notFound();
    return membership;
  }
  if (named.projectId !== undefined) {
    const orgId = await orgOfProjectAmong(c.env.DB, named.projectId, memberships.map((membership) => membership.org_id));
    if (orgId === null) throw notFound();
    return byOrg(orgId);
  }
  // A user who left the active org acts for none, never for another org in its place.
  if (activeOrgId !== null) return byOrg(activeOrgId);
  return memberships.length === 1 ? memberships[0] : undefined;
}

const ORG_PATH = /^\/_keygate\/v1\/orgs\/([^/]+)\//;

/** The org and project a request names, wherever the route takes them. */
async function namedIds(c: Context<CallerEnv>): Promise<{ orgId?: string; projectId?: string }> {
  const inPath = ORG_PATH.exec(c.req.path)?.[1];
  if (inPath !== undefined) return { orgId: decodeURIComponent(inPath) };
  const body = await jsonBody(c);
  return {
    orgId: c.req.query("org_id") ?? stringField(body, "org_id"),
    projectId: c.req.query("project_id") ?? stringField(body, "project_id"),
  };
}

/** The JSON body when there is one (Hono caches it, so the route still reads it); else `undefined`. */
async function jsonBody(c: Context<CallerEnv>): Promise<unknown> {
  if (!/json/i.test(c.req.header("content-type") ?? "")) return undefined;
  try {
    return JSON.parse(await c.req.text());
  } catch {
    return undefined; // the route answers the malformed body with its own 400
  }
}

function stringField(body: unknown, field: string): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}
