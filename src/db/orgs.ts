/**
 * @module
 * SQL for orgs and projects.
 */

export interface OrgRecord {
  id: string;
  name: string;
  created_at: string;
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

export async function insertOrg(db: D1Database, org: OrgRecord): Promise<void> {
  await db.prepare(`INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`).bind(org.id, org.name, org.created_at).run();
}

export async function orgExists(db: D1Database, id: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 FROM orgs WHERE id = ?`).bind(id).first()) !== null;
}

/** Orgs newest first. */
export async function listOrgs(db: D1Database, page: PageQuery): Promise<OrgRecord[]> {
  const { results } = await db
    .prepare(`SELECT id, name, created_at FROM orgs WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2`)
    .bind(page.beforeId ?? null, page.limit)
    .all<OrgRecord>();
  return results;
}

/** Inserts a project; false when the org already has a project with this id. */
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

/** Projects of one org (or all orgs), newest first by creation time then id. */
export async function listProjects(
  db: D1Database,
  orgId: string | undefined,
  onlyId: string | undefined,
  page: PageQuery,
): Promise<ProjectRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT id, org_id, name, created_at FROM projects
       WHERE (?1 IS NULL OR org_id = ?1) AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR org_id || '/' || id < ?3)
       ORDER BY org_id || '/' || id DESC LIMIT ?4`,
    )
    .bind(orgId ?? null, onlyId ?? null, page.beforeId ?? null, page.limit)
    .all<ProjectRecord>();
  return results;
}
