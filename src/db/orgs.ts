/**
 * @module
 * SQL for orgs, their members and projects. `orgs` is also better-auth's organization table, and
 * `members` its member table (see src/auth/schema.ts).
 */
import { when, whereOf } from "./where";

/** An org as the admin API creates it; the slug is derived from the name. */
export interface NewOrg {
  id: string;
  name: string;
  created_at: string;
}

export interface OrgRecord extends NewOrg {
  /** Unique; what dashboards use in URLs (better-auth's organization slug). */
  slug: string;
}

export interface ProjectRecord {
  id: string;
  org_id: string;
  name: string;
  created_at: string;
}

export interface PageQuery {
  beforeId: string | undefined;
  limit: number;
}

/**
 * Inserts an org with a unique slug: the name's slug, or when another org holds it already, the
 * name's slug followed by the end of the org's (random) id.
 */
export async function insertOrg(db: D1Database, org: NewOrg): Promise<OrgRecord> {
  const slug = slugOf(org.name);
  const row = await db
    .prepare(
      `INSERT INTO orgs (id, name, slug, created_at)
       VALUES (?1, ?2, CASE WHEN EXISTS (SELECT 1 FROM orgs WHERE slug = ?3) THEN ?4 ELSE ?3 END, ?5)
       RETURNING slug`,
    )
    .bind(org.id, org.name, slug, `${slug}-${org.id.slice(-8).toLowerCase()}`, org.created_at)
    .first<{ slug: string }>();
  return { ...org, slug: row!.slug };
}

const MAX_SLUG_LENGTH = 48;

/** `"Acme Inc."` → `acme-inc`: lowercase ASCII letters and digits joined by `-`; `org` when none. */
function slugOf(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/^-+|-+$/g, "");
  return slug || "org";
}

export async function orgExists(db: D1Database, id: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 FROM orgs WHERE id = ?`).bind(id).first()) !== null;
}

/** Orgs newest first. */
export async function listOrgs(db: D1Database, page: PageQuery): Promise<OrgRecord[]> {
  const { results } = await db
    .prepare(`SELECT id, name, slug, created_at FROM orgs WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2`)
    .bind(page.beforeId ?? null, page.limit)
    .all<OrgRecord>();
  return results;
}

/** The org a session acts for and the user's better-auth role there (`owner`, `admin`, `member`, or several joined by `,`). */
export interface SessionMembership {
  orgId: string;
  role: string;
}

/** The user's membership in the org that owns `projectId` (project ids are unique), else `null`. */
export async function findProjectMembership(db: D1Database | D1DatabaseSession, userId: string, projectId: string): Promise<SessionMembership | null> {
  return db
    .prepare(`SELECT m.org_id AS orgId, m.role FROM projects p JOIN members m ON m.org_id = p.org_id AND m.user_id = ?1 WHERE p.id = ?2`)
    .bind(userId, projectId)
    .first<SessionMembership>();
}

/**
 * The user's membership in `orgId`, or with `orgId` null, the user's only membership (`null` when
 * the user has none or several).
 */
export async function findDefaultMembership(
  db: D1Database | D1DatabaseSession,
  userId: string,
  orgId: string | null,
): Promise<SessionMembership | null> {
  // Two statements, so each is one lookup in the unique (user_id, org_id) index.
  const statement =
    orgId === null
      ? db.prepare(`SELECT org_id AS orgId, role FROM members WHERE user_id = ? LIMIT 2`).bind(userId)
      : db.prepare(`SELECT org_id AS orgId, role FROM members WHERE user_id = ? AND org_id = ?`).bind(userId, orgId);
  const { results } = await statement.all<SessionMembership>();
  return results.length === 1 ? results[0]! : null;
}

/** Inserts a project; false when a project with this id exists, in any org (ids are unique). */
export async function insertProject(db: D1Database, project: ProjectRecord): Promise<boolean> {
  const result = await db
    .prepare(`INSERT OR IGNORE INTO projects (org_id, id, name, created_at) VALUES (?, ?, ?, ?)`)
    .bind(project.org_id, project.id, project.name, project.created_at)
    .run();
  return result.meta.changes === 1;
}

export async function projectExists(db: D1Database | D1DatabaseSession, orgId: string, id: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 FROM projects WHERE org_id = ? AND id = ?`).bind(orgId, id).first()) !== null;
}

/** Projects of one org (or all orgs), by org then id, descending. */
export async function listProjects(
  db: D1Database,
  orgId: string | undefined,
  onlyId: string | undefined,
  page: PageQuery,
): Promise<ProjectRecord[]> {
  const after = page.beforeId === undefined ? undefined : splitProjectPosition(page.beforeId);
  const where = whereOf([
    when("org_id = ?", orgId),
    when("id = ?", onlyId),
    after && ["(org_id, id) < (?, ?)", after.orgId, after.id],
  ]);
  const { results } = await db
    .prepare(`SELECT id, org_id, name, created_at FROM projects ${where.sql} ORDER BY org_id DESC, id DESC LIMIT ${Math.trunc(page.limit)}`)
    .bind(...where.values)
    .all<ProjectRecord>();
  return results;
}

/** A project's list position: `<org_id>/<project_id>` (neither contains a `/`). */
export function projectPosition(project: Pick<ProjectRecord, "org_id" | "id">): string {
  return `${project.org_id}/${project.id}`;
}

function splitProjectPosition(position: string): { orgId: string; id: string } {
  const slash = position.indexOf("/");
  return { orgId: position.slice(0, slash), id: position.slice(slash + 1) };
}

/** A user's membership: the org, its name, and the user's better-auth role there (`owner`, `admin`, `member`, or several joined by `,`). */
export interface Membership {
  org_id: string;
  org_name: string;
  role: string;
}

/** The orgs `userId` is a member of, with their names and the user's role, oldest org first. */
export async function listMemberships(db: D1Database, userId: string): Promise<Membership[]> {
  const { results } = await db
    .prepare(`SELECT m.org_id, o.name AS org_name, m.role FROM members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY m.org_id`)
    .bind(userId)
    .all<Membership>();
  return results;
}

/** The projects of every org `userId` is a member of, by org then id (at most `limit`). */
export async function listMemberProjects(db: D1Database, userId: string, limit: number): Promise<ProjectRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT p.id, p.org_id, p.name, p.created_at FROM projects p JOIN members m ON m.org_id = p.org_id
       WHERE m.user_id = ? ORDER BY p.org_id, p.id LIMIT ${Math.trunc(limit)}`,
    )
    .bind(userId)
    .all<ProjectRecord>();
  return results;
}

/** The oldest of `orgIds` that owns a project `projectId`, `null` when none does. */
export async function orgOfProjectAmong(db: D1Database, projectId: string, orgIds: readonly string[]): Promise<string | null> {
  const row = await db
    .prepare(`SELECT org_id FROM projects WHERE id = ?1 AND org_id IN (SELECT value FROM json_each(?2)) ORDER BY org_id LIMIT 1`)
    .bind(projectId, JSON.stringify(orgIds))
    .first<{ org_id: string }>();
  return row?.org_id ?? null;
}
