/**
 * @module
 * Per key and hour, allowed / denied / would-deny counts read from the audit rollups
 * (src/db/audit-rollups.ts): the console's 24 h sparklines for a page of keys in one query.
 */
import { bucketAtOrAfter, bucketStart, type RollupUnit } from "./audit-rollups";
import { when, whereOf } from "./where";

export interface KeySeriesPoint {
  /** The hour's start, ISO 8601 UTC. */
  t: string;
  key_id: string;
  allowed: number;
  denied: number;
  would_deny: number;
}

const TABLES: Record<RollupUnit, string> = { minute: "audit_rollup_minute", hour: "audit_rollup_hour" };

/** Hourly counts of `keyIds` from `filter.since` on, oldest first; `unit` picks the rollup table. */
export async function keySeries(
  db: D1Database,
  filter: { org_id?: string | undefined; project_id?: string | undefined; since: string },
  keyIds: readonly string[],
  unit: RollupUnit,
): Promise<KeySeriesPoint[]> {
  const where = whereOf([
    when("org_id = ?", filter.org_id),
    when("project_id = ?", filter.project_id),
    ["key_id IN (SELECT value FROM json_each(?))", JSON.stringify(keyIds)],
    ["bucket >= ?", bucketAtOrAfter(filter.since, unit)],
  ]);
  const { results } = await db
    .prepare(
      `SELECT substr(bucket, 1, 13) AS t, key_id, sum(allowed) AS allowed, sum(denied) AS denied, sum(would_deny) AS would_deny
       FROM ${TABLES[unit]} ${where.sql} GROUP BY t, key_id ORDER BY t`,
    )
    .bind(...where.values)
    .all<KeySeriesPoint>();
  return results.map((point) => ({ ...point, t: bucketStart(point.t) }));
}
