/**
 * @module
 * `/_keygate/v1/orgs` (ADMIN_TOKEN only) and `/_keygate/v1/projects`.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { insertOrg, insertProject, listMemberships, listOrgs, listProjects, orgExists, projectPosition } from "../db/orgs";
import { KeygateError } from "../errors";
import type { CallerEnv } from "../http/context";
import { projectCache, projectCacheId } from "../credentials/key-cache";
import { requireScopes } from "../checks/require-scopes";
import { newId } from "../core/ids";
import { NameSchema, OrgIdSchema, ProjectIdSchema } from "../schemas/key";
import { actingOrg, actingProject, callerPrincipal, fieldChanges, notFound, recordChange } from "./actor";
import { readJson, readQuery } from "../http/input";
import { page, PageQuerySchema } from "./pagination";

export const CreateOrgInputSchema = z.strictObject({ name: NameSchema });
export const CreateProjectInputSchema = z.strictObject({ org_id: OrgIdSchema.optional(), name: NameSchema, id: ProjectIdSchema.optional() });
export const ProjectListQuerySchema = PageQuerySchema.extend({ org_id: OrgIdSchema.optional() });
/** The form of the ids Keygate generates (`prj_` + 26 Crockford base32). */
const GENERATED_PROJECT_ID = /^prj_[0-9A-Z]{26}$/;

/** Orgs span tenants, so only ADMIN_TOKEN manages them. */
const requireAdminToken: MiddlewareHandler<CallerEnv> = async (c, next) => {
  if (c.var.caller.kind !== "admin") {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", { details: { reason: "orgs are managed with ADMIN_TOKEN only" } });
  }
  await next();
};

export const orgs = new Hono<CallerEnv>();

orgs.post("/", requireAdminToken, async (c) => {
  const input = await readJson(c, CreateOrgInputSchema);
  const org = await insertOrg(c.env.DB, { id: newId("org"), name: input.name, created_at: new Date().toISOString() });
  recordChange(c, { action: "org.create", targetId: org.id, orgId: org.id, projectId: null, changes: fieldChanges(null, org, ["name"]) });
  return c.json({ ok: true, data: org }, 201);
});

/** A session lists the orgs it belongs to, with its role in each (for the console's org switcher). */
orgs.get("/", async (c, next) => {
  const caller = c.var.caller;
  if (caller.kind !== "session") return next();
  const memberships = await listMemberships(c.env.DB, caller.userId);
  return c.json({ ok: true, data: memberships.map((m) => ({ id: m.org_id, name: m.org_name, role: m.role })), next_cursor: null });
});

orgs.get("/", requireAdminToken, async (c) => {
  const query = readQuery(c, PageQuerySchema);
  const rows = await listOrgs(c.env.DB, { beforeId: query.cursor, limit: query.limit + 1 });
  return c.json({ ok: true, ...page(rows, query.limit, (row) => row.id) });
});

export const projects = new Hono<CallerEnv>();

projects.post("/", requireScopes(["keygate:projects:write"]), async (c) => {
  const input = await readJson(c, CreateProjectInputSchema);
  if (callerPrincipal(c)?.projectId) throw new KeygateError("FORBIDDEN", "project_mismatch");
  const orgId = actingOrg(c, input.org_id, true);
  // An origin's own id names its tenant's project: choosing one is the operator's act alone.
  if (input.id !== undefined && c.var.caller.kind !== "admin" && !GENERATED_PROJECT_ID.test(input.id)) {
    throw KeygateError.badRequest([{ path: "id", message: "only ADMIN_TOKEN may choose an id that is not a prj_ id" }]);
  }
  if (!(await orgExists(c.env.DB, orgId))) throw notFound();
  const project = { id: input.id ?? newId("prj"), org_id: orgId, name: input.name, created_at: new Date().toISOString() };
  if (!(await insertProject(c.env.DB, project))) {
    throw new KeygateError("CONFLICT", "conflict", { details: { reason: `project id "${project.id}" is taken` } });
  }
  recordChange(c, { action: "project.create", targetId: project.id, orgId, projectId: project.id, changes: fieldChanges(null, project, ["name"]) });
  // A request may have named it before it existed; that "unknown" must not outlive the creation.
  await projectCache.invalidate(c.env.KEY_CACHE, projectCacheId(orgId, project.id));
  return c.json({ ok: true, data: project }, 201);
});

projects.get("/", requireScopes(["keygate:keys:read"]), async (c) => {
  const query = readQuery(c, ProjectListQuerySchema);
  const rows = await listProjects(c.env.DB, actingOrg(c, query.org_id), actingProject(c, undefined), {
    beforeId: query.cursor,
    limit: query.limit + 1,
  });
  return c.json({ ok: true, ...page(rows, query.limit, projectPosition) });
});
