/**
 * @module
 * SQL for API keys. Rows map to {@link KeyRecord}; the hash never leaves this module except to the
 * cache, which is keyed by it.
 */
import type { KeyRecord, Quota, RateLimitRule } from "../schemas/key";
import { EXPIRING_WITHIN_MS, STALE_AFTER_MS, type KeyState } from "../schemas/key-state";
import { when, whereOf, type Condition } from "./where";

interface KeyRow {
  id: string;
  org_id: string;
  project_id: string | null;
  name: string;
  key_prefix: string;
  key_hash: string;
  scopes: string;
  preset: string | null;
  allowed_ips: string;
  allowed_origins: string;
  restrictions_mode: "enforce" | "report";
  not_before: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  revoked_at: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  rate_limits: string;
  quota: string | null;
  rotation_root_id: string;
}

/** A key record together with the hash it is looked up by. */
export interface StoredKey {
  record: KeyRecord;
  hash: string;
}

const COLUMNS = `id, org_id, project_id, name, key_prefix, key_hash, scopes, preset, allowed_ips, allowed_origins,
  restrictions_mode, not_before, expires_at, last_used_at, created_at, revoked_at, rotated_from, rotated_to,
  rate_limits, quota, rotation_root_id`;

function toStoredKey(row: KeyRow): StoredKey {
  const { key_hash, scopes, allowed_ips, allowed_origins, rate_limits, quota, ...rest } = row;
  return {
    hash: key_hash,
    record: {
      ...rest,
      scopes: JSON.parse(scopes) as string[],
      allowed_ips: JSON.parse(allowed_ips) as string[],
      allowed_origins: JSON.parse(allowed_origins) as string[],
      rate_limits: JSON.parse(rate_limits) as RateLimitRule[],
      quota: quota === null ? null : (JSON.parse(quota) as Quota),
    },
  };
}

/** The key with this SHA-256 hex digest, revoked or not. */
export async function findKeyByHash(db: D1Database | D1DatabaseSession, hash: string): Promise<StoredKey | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?`).bind(hash).first<KeyRow>();
  return row ? toStoredKey(row) : null;
}

/** The key with this id in this org (`null` when absent or another org's). */
export async function findKeyById(db: D1Database, orgId: string | undefined, id: string): Promise<StoredKey | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR org_id = ?2)`)
    .bind(id, orgId ?? null)
    .first<KeyRow>();
  return row ? toStoredKey(row) : null;
}

export interface KeyListQuery {
  orgId: string | undefined;
  projectId: string | undefined;
  /** Keys in this state (see src/schemas/key-state.ts), as of `now`. */
  state?: KeyState | undefined;
  /** Keys granted exactly this scope (or wildcard). */
  scope?: string | undefined;
  /** Keys whose `key_prefix` starts with this. */
  prefix?: string | undefined;
  /** Only these keys. */
  ids?: readonly string[] | undefined;
  now?: number;
  /** Only ids strictly smaller than this (the previous page's last id). */
  beforeId: string | undefined;
  limit: number;
}

/** Keys newest first (ids are K-sortable). */
export async function listKeys(db: D1Database, query: KeyListQuery): Promise<KeyRecord[]> {
  const where = whereOf([
    when("org_id = ?", query.orgId),
    when("project_id = ?", query.projectId),
    when("id < ?", query.beforeId),
    query.state && keyStateCondition(query.state, query.now ?? Date.now()),
    when("EXISTS (SELECT 1 FROM json_each(scopes) WHERE value = ?)", query.scope),
    query.prefix === undefined ? undefined : ["substr(key_prefix, 1, ?) = ?", query.prefix.length, query.prefix],
    query.ids === undefined ? undefined : ["id IN (SELECT value FROM json_each(?))", JSON.stringify(query.ids)],
  ]);
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys ${where.sql} ORDER BY id DESC LIMIT ${Math.trunc(query.limit)}`)
    .bind(...where.values)
    .all<KeyRow>();
  return results.map((row) => toStoredKey(row).record);
}

/** `keyStates` of src/schemas/key-state.ts as SQL: the keys having `state` at `now`. */
export function keyStateCondition(state: KeyState, now: number): Condition {
  const at = new Date(now).toISOString();
  const live = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)";
  switch (state) {
    case "revoked":
      return ["revoked_at IS NOT NULL"];
    case "expired":
      return ["revoked_at IS NULL AND expires_at <= ?", at];
    case "grace":
      return [`${live} AND rotated_to IS NOT NULL`, at];
    case "expiring":
      return [`${live} AND rotated_to IS NULL AND expires_at <= ?`, at, new Date(now + EXPIRING_WITHIN_MS).toISOString()];
    case "active":
      return [`${live} AND rotated_to IS NULL AND (expires_at IS NULL OR expires_at > ?)`, at, new Date(now + EXPIRING_WITHIN_MS).toISOString()];
    case "report":
      return [`${live} AND restrictions_mode = 'report'`, at];
    case "stale":
      return [`${live} AND COALESCE(last_used_at, created_at) < ?`, at, new Date(now - STALE_AFTER_MS).toISOString()];
  }
}

/** The INSERT for `key`; with `rotatedFromId`, it inserts only if that key now links to it. */
function insertStatement(db: D1Database, key: StoredKey, rotatedFromId: string | null = null): D1PreparedStatement {
  const r = key.record;
  return db
    .prepare(
      `INSERT INTO api_keys (${COLUMNS})
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?20, ?21, ?22
       WHERE ?19 IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE id = ?19 AND rotated_to = ?1)`,
    )
    .bind(
      r.id, r.org_id, r.project_id, r.name, r.key_prefix, key.hash, JSON.stringify(r.scopes), r.preset,
      JSON.stringify(r.allowed_ips), JSON.stringify(r.allowed_origins), r.restrictions_mode, r.not_before,
      r.expires_at, r.last_used_at, r.created_at, r.revoked_at, r.rotated_from, r.rotated_to, rotatedFromId,
      JSON.stringify(r.rate_limits), r.quota === null ? null : JSON.stringify(r.quota), r.rotation_root_id,
    );
}

export async function insertKey(db: D1Database, key: StoredKey): Promise<void> {
  await insertStatement(db, key).run();
}

export type KeyChanges = Partial<
  Pick<KeyRecord, "name" | "scopes" | "preset" | "allowed_ips" | "allowed_origins" | "restrictions_mode" | "expires_at" | "rate_limits" | "quota">
>;

/** The columns a change may set, each with how its value is stored. */
const CHANGEABLE_COLUMNS: Record<keyof KeyChanges, "text" | "json"> = {
  name: "text",
  scopes: "json",
  preset: "text",
  allowed_ips: "json",
  allowed_origins: "json",
  restrictions_mode: "text",
  expires_at: "text",
  rate_limits: "json",
  quota: "json",
};

function updateStatement(db: D1Database, id: string, changes: KeyChanges): D1PreparedStatement {
  // Only columns of the allowlist reach the SQL text, whatever object the caller passes.
  const entries = Object.entries(changes).filter(([column]) => Object.hasOwn(CHANGEABLE_COLUMNS, column));
  const assignments = entries.map(([column], i) => `${column} = ?${i + 2}`).join(", ");
  const values = entries.map(([column, value]) =>
    CHANGEABLE_COLUMNS[column as keyof KeyChanges] === "json" && value !== null ? JSON.stringify(value) : value,
  );
  return db.prepare(`UPDATE api_keys SET ${assignments} WHERE id = ?1`).bind(id, ...values);
}

/** Applies `changes` and returns the new state. */
export async function updateKey(db: D1Database, id: string, changes: KeyChanges): Promise<StoredKey | null> {
  await updateStatement(db, id, changes).run();
  return findKeyById(db, undefined, id);
}

/** Sets `revoked_at` once; a second revoke keeps the first time. */
export async function revokeKey(db: D1Database, id: string, at: string): Promise<void> {
  await db.prepare(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1`).bind(id, at).run();
}

/**
 * Links the old key to its successor and inserts the successor in one transaction. The link only
 * applies to a live, not yet rotated key, and the insert only if the link applied, so two
 * concurrent rotations cannot both succeed. Returns false when the old key was not rotatable.
 */
export async function rotateKey(
  db: D1Database,
  old: { id: string; expiresAt: string | null },
  successor: StoredKey,
): Promise<boolean> {
  const link = db
    .prepare(
      `UPDATE api_keys SET rotated_to = ?2, expires_at = ?3
       WHERE id = ?1 AND rotated_to IS NULL AND revoked_at IS NULL`,
    )
    .bind(old.id, successor.record.id, old.expiresAt);
  const [linked] = await db.batch([link, insertStatement(db, successor, old.id)]);
  return linked?.meta.changes === 1;
}
