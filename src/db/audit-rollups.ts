/**
 * @module
 * Usage rollups of the audit log: allowed / denied / would_deny counts per org, project, key and
 * reason, per minute (kept {@link MINUTE_ROLLUP_DAYS} days) and per hour (kept as long as the
 * archive), and per key and day the required scopes its requests that got through exercised
 * (kept {@link SCOPE_ROLLUP_DAYS} days). The consumer fills them from `audit_ingest` in the batch
 * that stores the events; summaries, `requests_24h` and the console read only these, so their cost
 * does not grow with traffic. Key columns store '' for "none"; readers turn it back into null.
 */
import { when, whereOf } from "./where";

export const MINUTE_ROLLUP_DAYS = 3;
export const SCOPE_ROLLUP_DAYS = 35;

export type RollupUnit = "minute" | "hour";
const BUCKET_LENGTH = { minute: 16, hour: 13, day: 10 } as const;
const TABLES = { minute: "audit_rollup_minute", hour: "audit_rollup_hour" } as const;

const STAGED_FIELDS = `json_extract(event, '$.ts') AS ts, coalesce(json_extract(event, '$.org_id'), '') AS org_id,
  coalesce(json_extract(event, '$.project_id'), '') AS project_id, coalesce(json_extract(event, '$.key_id'), '') AS key_id,
  coalesce(json_extract(event, '$.reason'), '') AS reason, json_extract(event, '$.outcome') AS outcome`;

function countUpsert(unit: RollupUnit): string {
  const table = TABLES[unit];
  return `INSERT INTO ${table} (org_id, bucket, project_id, key_id, reason, allowed, denied, would_deny)
  SELECT org_id, substr(ts, 1, ${BUCKET_LENGTH[unit]}), project_id, key_id, reason,
    sum(outcome = 'allowed'), sum(outcome = 'denied'), sum(outcome = 'would_deny')
  FROM (SELECT ${STAGED_FIELDS} FROM audit_ingest) WHERE true
  GROUP BY org_id, substr(ts, 1, ${BUCKET_LENGTH[unit]}), project_id, key_id, reason
  ON CONFLICT (org_id, bucket, project_id, key_id, reason) DO UPDATE SET
    allowed = allowed + excluded.allowed, denied = denied + excluded.denied, would_deny = would_deny + excluded.would_deny`;
}

const SCOPES_UPSERT = `INSERT INTO audit_key_scopes (key_id, day, scope, org_id, project_id, requests)
  SELECT staged.key_id, substr(staged.ts, 1, 10), scope.value, staged.org_id, staged.project_id, count(*)
  FROM (SELECT ${STAGED_FIELDS}, json_extract(event, '$.required_scopes') AS scopes FROM audit_ingest) AS staged, json_each(staged.scopes) AS scope
  WHERE staged.key_id != '' AND staged.outcome != 'denied'
  GROUP BY staged.key_id, substr(staged.ts, 1, 10), scope.value
  ON CONFLICT (key_id, day, scope) DO UPDATE SET requests = requests + excluded.requests`;

/** The rollup upserts over the staged (newly stored) events; part of the consumer's batch. */
export function rollupStatements(db: D1Database): D1PreparedStatement[] {
  return [db.prepare(countUpsert("minute")), db.prepare(countUpsert("hour")), db.prepare(SCOPES_UPSERT)];
}

const STEP_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** The start of the bucket `label` (`2030-06-01T10` → `2030-06-01T10:00:00.000Z`). */
export function bucketStart(label: string): string {
  return `${label}${"0000-00-00T00:00:00.000Z".slice(label.length)}`;
}

/** The label of the first bucket that starts at or after `iso` (`iso` rounded up to the unit). */
export function bucketAtOrAfter(iso: string, unit: RollupUnit | "day"): string {
  const length = BUCKET_LENGTH[unit];
  const start = Date.parse(bucketStart(iso.slice(0, length)));
  const first = start >= Date.parse(iso) ? start : start + STEP_MS[unit];
  return new Date(first).toISOString().slice(0, length);
}

export interface RollupFilter {
  org_id?: string | undefined;
  project_id?: string | undefined;
  key_id?: string | undefined;
  reason?: string | undefined;
  /** Buckets starting at or after this time. */
  since: string;
  /** Buckets starting before this time (now when absent). */
  until?: string | undefined;
}

export const OUTCOME_COLUMNS = ["allowed", "denied", "would_deny"] as const;
export type OutcomeColumn = (typeof OUTCOME_COLUMNS)[number];

/** What a summary can be grouped by: a dimension, or time (bucket start). */
export const ROLLUP_GROUPS = ["key", "project", "reason", "outcome", "minute", "hour", "day"] as const;
export type RollupGroup = (typeof ROLLUP_GROUPS)[number];

export interface RollupGroupRow {
  /** The key id, project id, reason or outcome; for time groups the bucket's start (ISO 8601). */
  value: string | null;
  /** Events in the group (of `outcome` only, when that filter is given). */
  count: number;
  allowed: number;
  denied: number;
  would_deny: number;
}

const DIMENSIONS: Record<"key" | "project" | "reason", string> = { key: "key_id", project: "project_id", reason: "reason" };

function rollupWhere(filter: RollupFilter, unit: RollupUnit) {
  return whereOf([
    when("org_id = ?", filter.org_id),
    when("project_id = ?", filter.project_id),
    when("key_id = ?", filter.key_id),
    when("reason = ?", filter.reason),
    when("bucket >= ?", bucketAtOrAfter(filter.since, unit)),
    when("bucket < ?", filter.until === undefined ? undefined : bucketAtOrAfter(filter.until, unit)),
  ]);
}

/**
 * Event counts from the rollups, grouped by `groupBy`: dimensions largest first, time groups in
 * time order. `unit` picks the table; a day group reads hours.
 */
export async function summarizeRollups(
  db: D1Database,
  filter: RollupFilter,
  groupBy: RollupGroup,
  options: { unit: RollupUnit; outcome?: OutcomeColumn | undefined; limit: number },
): Promise<RollupGroupRow[]> {
  const { unit, outcome, limit } = options;
  const where = rollupWhere(filter, unit);
  const table = TABLES[unit];
  const sums = "sum(allowed) AS allowed, sum(denied) AS denied, sum(would_deny) AS would_deny";
  const count = outcome ?? "(allowed + denied + would_deny)";
  if (groupBy === "outcome") {
    const { results } = await db.prepare(`SELECT ${sums} FROM ${table} ${where.sql}`).bind(...where.values).all<Record<OutcomeColumn, number | null>>();
    const totals = results[0];
    return OUTCOME_COLUMNS.filter((column) => (outcome === undefined || outcome === column) && (totals?.[column] ?? 0) > 0)
      .map((column) => ({ value: column, count: totals?.[column] ?? 0, allowed: 0, denied: 0, would_deny: 0, [column]: totals?.[column] ?? 0 }))
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
  }
  const isTime = groupBy === "minute" || groupBy === "hour" || groupBy === "day";
  const group = isTime ? `substr(bucket, 1, ${BUCKET_LENGTH[groupBy]})` : DIMENSIONS[groupBy];
  const order = isTime ? "value" : "count DESC, value";
  const { results } = await db
    .prepare(
      `SELECT ${group} AS value, sum(${count}) AS count, ${sums} FROM ${table} ${where.sql}
       GROUP BY ${group} HAVING sum(${count}) > 0 ORDER BY ${order} LIMIT ${Math.trunc(limit)}`,
    )
    .bind(...where.values)
    .all<RollupGroupRow>();
  return results.map((row) => ({ ...row, value: isTime ? bucketStart(String(row.value)) : row.value === "" ? null : row.value }));
}

/** Requests (every outcome) per key for the given keys in minute buckets from `since` on. */
export async function countRequestsByKey(db: D1Database, keyIds: readonly string[], since: string): Promise<Map<string, number>> {
  if (keyIds.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT key_id, sum(allowed + denied + would_deny) AS count FROM audit_rollup_minute
       WHERE key_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2 GROUP BY key_id`,
    )
    .bind(JSON.stringify(keyIds), bucketAtOrAfter(since, "minute"))
    .all<{ key_id: string; count: number }>();
  return new Map(results.map((row) => [row.key_id, row.count]));
}

export interface ExercisedScope {
  key_id: string;
  scope: string;
  /** Requests that required the scope and got through (allowed or would_deny). */
  requests: number;
  /** The last UTC day (`YYYY-MM-DD`) one did. */
  last_day: string;
}

/** Per key, the scopes its requests that got through required, from the UTC day of `since` on. */
export async function exercisedScopes(
  db: D1Database,
  filter: Pick<RollupFilter, "org_id" | "project_id" | "key_id" | "since">,
  limit: number,
): Promise<ExercisedScope[]> {
  const where = whereOf([
    when("org_id = ?", filter.org_id),
    when("project_id = ?", filter.project_id),
    when("key_id = ?", filter.key_id),
    when("day >= ?", filter.since.slice(0, 10)),
  ]);
  const { results } = await db
    .prepare(
      `SELECT key_id, scope, sum(requests) AS requests, max(day) AS last_day FROM audit_key_scopes ${where.sql}
       GROUP BY key_id, scope ORDER BY key_id, requests DESC, scope LIMIT ${Math.trunc(limit)}`,
    )
    .bind(...where.values)
    .all<ExercisedScope>();
  return results;
}

/** Deletes rollup rows past their retention; returns how many. */
export async function pruneRollups(db: D1Database, now: number, hourDays: number): Promise<number> {
  const day = 86_400_000;
  const results = await db.batch([
    db.prepare("DELETE FROM audit_rollup_minute WHERE bucket < ?1").bind(new Date(now - MINUTE_ROLLUP_DAYS * day).toISOString().slice(0, 16)),
    db.prepare("DELETE FROM audit_rollup_hour WHERE bucket < ?1").bind(new Date(now - hourDays * day).toISOString().slice(0, 13)),
    db.prepare("DELETE FROM audit_key_scopes WHERE day < ?1").bind(new Date(now - SCOPE_ROLLUP_DAYS * day).toISOString().slice(0, 10)),
  ]);
  return results.reduce((sum, result) => sum + result.meta.changes, 0);
}

/** Events per hour bucket from the bucket of `since` on, newest first: how big the hot window is. */
export async function eventsPerHour(db: D1Database, since: string): Promise<{ bucket: string; count: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT bucket, sum(allowed + denied + would_deny) AS count FROM audit_rollup_hour
       WHERE bucket >= ?1 GROUP BY bucket ORDER BY bucket DESC`,
    )
    .bind(since.slice(0, 13))
    .all<{ bucket: string; count: number }>();
  return results;
}
