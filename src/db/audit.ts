/**
 * @module
 * SQL for the audit log. Writes pass a whole chunk of events as one JSON parameter and expand it
 * with `json_each`, which keeps every statement within D1's 100 bound parameters however many
 * events it carries.
 */
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from "../schemas/audit-event";
import { when, whereOf, type Where } from "./where";

/** Events per INSERT: about 1 KB each keeps the JSON parameter far under D1's 2 MB value limit. */
const EVENTS_PER_STATEMENT = 500;

const INSERT_EVENTS = `INSERT OR IGNORE INTO audit_events (${AUDIT_EVENT_COLUMNS.join(", ")})
  SELECT ${AUDIT_EVENT_COLUMNS.map((column) => `json_extract(value, '$.${column}')`).join(", ")} FROM json_each(?1)`;

// Forward only: an event older than the stored time never moves it back.
const TOUCH_KEYS = `UPDATE api_keys SET last_used_at = used.ts
  FROM (SELECT json_extract(value, '$[0]') AS key_id, json_extract(value, '$[1]') AS ts FROM json_each(?1)) AS used
  WHERE api_keys.id = used.key_id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < used.ts)`;

/**
 * The statements that store `events` and move each used key's `last_used_at` forward; run them
 * in one `db.batch` (one transaction). Idempotent: an event id already stored is ignored.
 */
export function writeEventsStatements(db: D1Database, events: readonly AuditEvent[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    statements.push(db.prepare(INSERT_EVENTS).bind(JSON.stringify(events.slice(i, i + EVENTS_PER_STATEMENT))));
  }
  const lastUse = lastUsePerKey(events);
  if (lastUse.length > 0) statements.push(db.prepare(TOUCH_KEYS).bind(JSON.stringify(lastUse)));
  return statements;
}

export async function writeEvents(db: D1Database, events: readonly AuditEvent[]): Promise<void> {
  if (events.length > 0) await db.batch(writeEventsStatements(db, events));
}

/** `[key_id, latest ts]` per key that got through (allowed or would_deny). */
function lastUsePerKey(events: readonly AuditEvent[]): [string, string][] {
  const latest = new Map<string, string>();
  for (const event of events) {
    if (event.key_id === null || event.outcome === "denied") continue;
    const seen = latest.get(event.key_id);
    if (seen === undefined || seen < event.ts) latest.set(event.key_id, event.ts);
  }
  return [...latest];
}

export interface AuditFilter {
  org_id?: string | undefined;
  project_id?: string | undefined;
  key_id?: string | undefined;
  request_id?: string | undefined;
  outcome?: string | undefined;
  reason?: string | undefined;
  /** Inclusive lower bound on `ts`. */
  since?: string | undefined;
  /** Exclusive upper bound on `ts`. */
  until?: string | undefined;
}

const EQUALITY_FILTERS = ["org_id", "project_id", "key_id", "request_id", "outcome", "reason"] as const;

function auditWhere(filter: AuditFilter, beforeId?: string): Where {
  return whereOf([
    ...EQUALITY_FILTERS.map((column) => when(`${column} = ?`, filter[column])),
    when("ts >= ?", filter.since),
    when("ts < ?", filter.until),
    when("id < ?", beforeId),
  ]);
}

export interface AuditRow extends Omit<AuditEvent, "required_scopes" | "missing_scopes" | "changes"> {
  required_scopes: string;
  missing_scopes: string;
  changes: string | null;
}

export function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    ...row,
    required_scopes: JSON.parse(row.required_scopes) as string[],
    missing_scopes: JSON.parse(row.missing_scopes) as string[],
    changes: row.changes === null ? null : (JSON.parse(row.changes) as AuditEvent["changes"]),
  };
}

/** Events matching `filter`, newest first, strictly older than `beforeId`. */
export async function listEvents(db: D1Database, filter: AuditFilter, beforeId: string | undefined, limit: number): Promise<AuditEvent[]> {
  const where = auditWhere(filter, beforeId);
  const { results } = await db
    .prepare(`SELECT ${AUDIT_EVENT_COLUMNS.join(", ")} FROM audit_events ${where.sql} ORDER BY id DESC LIMIT ${Math.trunc(limit)}`)
    .bind(...where.values)
    .all<AuditRow>();
  return results.map(toAuditEvent);
}

export const SUMMARY_GROUPS = { key: "key_id", reason: "reason", outcome: "outcome", path: "path" } as const;
export type SummaryGroup = keyof typeof SUMMARY_GROUPS;

/** Event counts per value of one column, largest first. */
export async function summarizeEvents(db: D1Database, filter: AuditFilter, groupBy: SummaryGroup, limit: number) {
  const column = SUMMARY_GROUPS[groupBy];
  const where = auditWhere(filter);
  const { results } = await db
    .prepare(`SELECT ${column} AS value, count(*) AS count FROM audit_events ${where.sql} GROUP BY ${column} ORDER BY count DESC, value LIMIT ${Math.trunc(limit)}`)
    .bind(...where.values)
    .all<{ value: string | null; count: number }>();
  return results;
}

/** Requests per key for the given keys, counting events with an id of at least `fromId`. */
export async function countRequestsByKey(db: D1Database, keyIds: readonly string[], fromId: string): Promise<Map<string, number>> {
  if (keyIds.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT key_id, count(*) AS count FROM audit_events
       WHERE key_id IN (SELECT value FROM json_each(?1)) AND id >= ?2 GROUP BY key_id`,
    )
    .bind(JSON.stringify(keyIds), fromId)
    .all<{ key_id: string; count: number }>();
  return new Map(results.map((row) => [row.key_id, row.count]));
}

/** Deletes up to `limit` events older than `before`; returns how many went. */
export async function deleteEventsBefore(db: D1Database, before: string, limit: number): Promise<number> {
  const result = await db
    .prepare(`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE ts < ?1 LIMIT ?2)`)
    .bind(before, limit)
    .run();
  return result.meta.changes;
}
