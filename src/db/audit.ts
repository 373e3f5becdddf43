/**
 * @module
 * SQL for the audit events of the D1 hot window. Writes pass chunks of events as one JSON
 * parameter each, expanded with `json_each`: a statement never nears D1's 100 bound parameters, and
 * chunks are cut by bytes so no parameter nears D1's 2,000,000-byte value limit however large the
 * events are. New events go through the `audit_ingest` staging table, so the rollups
 * (src/db/audit-rollups.ts) in the same batch count only events stored for the first time.
 */
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from "../schemas/audit-event";
import { rollupStatements } from "./audit-rollups";
import { when, whereOf, type Where } from "./where";

/** Bytes of JSON per bound parameter: half of D1's 2,000,000-byte limit per value. */
export const MAX_PARAM_BYTES = 1_000_000;
const encoder = new TextEncoder();

const STAGE_EVENTS = `INSERT OR IGNORE INTO audit_ingest (id, event)
  SELECT json_extract(value, '$.id'), value FROM json_each(?1) AS staged
  WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE audit_events.id = json_extract(staged.value, '$.id'))`;

// `archived = 1`: whoever stores the batch writes it to the archive before acknowledging it.
const STORE_STAGED = `INSERT OR IGNORE INTO audit_events (${AUDIT_EVENT_COLUMNS.join(", ")}, archived)
  SELECT ${AUDIT_EVENT_COLUMNS.map((column) => `json_extract(event, '$.${column}')`).join(", ")}, 1 FROM audit_ingest`;

const CLEAR_STAGED = "DELETE FROM audit_ingest";

// Forward only, compared as time: an event older than the stored time never moves it back.
const TOUCH_KEYS = `UPDATE api_keys SET last_used_at = used.ts
  FROM (SELECT json_extract(value, '$[0]') AS key_id, json_extract(value, '$[1]') AS ts FROM json_each(?1)) AS used
  WHERE api_keys.id = used.key_id AND (api_keys.last_used_at IS NULL OR julianday(api_keys.last_used_at) < julianday(used.ts))`;

/**
 * The statements that store `events` in the audit tables and count the new ones in the rollups;
 * run them in one `db.batch` (one transaction). Idempotent: an event id already stored is ignored,
 * and counted nowhere.
 */
export function writeEventsStatements(db: D1Database, events: readonly AuditEvent[]): D1PreparedStatement[] {
  return [
    db.prepare(CLEAR_STAGED),
    ...chunksByBytes(events).map((chunk) => db.prepare(STAGE_EVENTS).bind(chunk)),
    db.prepare(STORE_STAGED),
    ...rollupStatements(db),
    db.prepare(CLEAR_STAGED),
  ];
}

/** The statement that moves each used key's `last_used_at` forward, if any key was used. */
export function touchKeysStatements(db: D1Database, events: readonly AuditEvent[]): D1PreparedStatement[] {
  const lastUse = lastUsePerKey(events);
  return lastUse.length > 0 ? [db.prepare(TOUCH_KEYS).bind(JSON.stringify(lastUse))] : [];
}

/** JSON arrays of events, each at most {@link MAX_PARAM_BYTES} bytes of UTF-8. */
export function chunksByBytes(events: readonly AuditEvent[]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const event of events) {
    const json = JSON.stringify(event);
    const size = encoder.encode(json).byteLength + 1;
    if (current.length > 0 && bytes + size > MAX_PARAM_BYTES) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      bytes = 2;
    }
    current.push(json);
    bytes += size;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

/** `[key_id, latest ts]` per key that got through (allowed or would_deny). */
function lastUsePerKey(events: readonly AuditEvent[]): [string, string][] {
  const latest = new Map<string, string>();
  for (const event of events) {
    if (event.key_id === null || event.outcome === "denied") continue;
    const seen = latest.get(event.key_id);
    if (seen === undefined || Date.parse(seen) < Date.parse(event.ts)) latest.set(event.key_id, event.ts);
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
  client_request_id?: string | undefined;
  key_prefix?: string | undefined;
  caller?: string | undefined;
  status?: number | undefined;
  method?: string | undefined;
  path?: string | undefined;
  ip?: string | undefined;
  origin?: string | undefined;
  country?: string | undefined;
  colo?: string | undefined;
  user_agent?: string | undefined;
  action?: string | undefined;
  target_id?: string | undefined;
  /** Events whose route required this scope. */
  required_scope?: string | undefined;
  /** Events denied for lack of this scope. */
  missing_scope?: string | undefined;
  /** Inclusive lower bound on `ts`. */
  since?: string | undefined;
  /** Exclusive upper bound on `ts`. */
  until?: string | undefined;
}

/** The filters that match one column exactly (the archive reader applies the same ones). */
export const EQUALITY_FILTERS = [
  "org_id", "project_id", "key_id", "request_id", "outcome", "reason", "client_request_id", "key_prefix", "caller", "status",
  "method", "path", "ip", "origin", "country", "colo", "user_agent", "action", "target_id",
] as const;

function auditWhere(filter: AuditFilter, beforeId?: string): Where {
  return whereOf([
    ...EQUALITY_FILTERS.map((column) => when(`${column} = ?`, filter[column])),
    when("EXISTS (SELECT 1 FROM json_each(required_scopes) WHERE value = ?)", filter.required_scope),
    when("EXISTS (SELECT 1 FROM json_each(missing_scopes) WHERE value = ?)", filter.missing_scope),
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

/** Deletes up to `limit` events older than `before`; returns how many went. */
export async function deleteEventsBefore(db: D1Database, before: string, limit: number): Promise<number> {
  const result = await db
    .prepare(`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE ts < ?1 LIMIT ?2)`)
    .bind(before, limit)
    .run();
  return result.meta.changes;
}

/** Up to `limit` events older than `before` that were stored before the archive existed, oldest first. */
export async function listUnarchivedBefore(db: D1Database, before: string, limit: number): Promise<AuditEvent[]> {
  const { results } = await db
    .prepare(`SELECT ${AUDIT_EVENT_COLUMNS.join(", ")} FROM audit_events WHERE archived IS NULL AND ts < ?1 ORDER BY ts LIMIT ${Math.trunc(limit)}`)
    .bind(before)
    .all<AuditRow>();
  return results.map(toAuditEvent);
}

/** Marks events as written to the archive. */
export async function markArchived(db: D1Database, ids: readonly string[]): Promise<void> {
  await db.prepare("UPDATE audit_events SET archived = 1 WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(ids)).run();
}

/** Where the D1 hot window starts as far as trimming went (null before the first trim). */
export async function readHotFrom(db: D1Database): Promise<string | null> {
  const row = await db.prepare("SELECT hot_from FROM audit_tier_state WHERE id = 1").first<{ hot_from: string }>();
  return row?.hot_from ?? null;
}

/** Moves the hot window's start forward to `from` (never back). */
export async function advanceHotFrom(db: D1Database, from: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO audit_tier_state (id, hot_from) VALUES (1, ?1)
       ON CONFLICT (id) DO UPDATE SET hot_from = max(hot_from, excluded.hot_from)`,
    )
    .bind(from)
    .run();
}
