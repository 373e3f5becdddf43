/**
 * @module
 * The retention cron: deletes audit events older than AUDIT_RETENTION_DAYS (default 90) in
 * bounded chunks, so one run never holds the single D1 writer for long, and OAuth device
 * authorizations and tokens a day after they expired.
 */
import { deleteEventsBefore } from "../db/audit";
import { deleteExpiredOAuth } from "../db/oauth";
import type { Bindings } from "../env";

const DEFAULT_RETENTION_DAYS = 90;
const CHUNK = 5_000;
const MAX_CHUNKS_PER_RUN = 200;

/** Deletes expired events; returns how many. A later run continues where the budget stopped. */
export async function pruneAuditLog(env: Bindings, now = Date.now()): Promise<number> {
  const days = Number(env.AUDIT_RETENTION_DAYS ?? DEFAULT_RETENTION_DAYS);
  if (!Number.isInteger(days) || days < 1) throw new TypeError(`AUDIT_RETENTION_DAYS must be a positive integer, got "${env.AUDIT_RETENTION_DAYS}"`);
  const before = new Date(now - days * 86_400_000).toISOString();
  let deleted = 0;
  for (let chunk = 0; chunk < MAX_CHUNKS_PER_RUN; chunk++) {
    const count = await deleteEventsBefore(env.DB, before, CHUNK);
    deleted += count;
    if (count < CHUNK) break;
  }
  return deleted;
}

/** Expired OAuth rows are kept a day, so a late poll or refresh still gets a precise error. */
const OAUTH_GRACE_MS = 86_400_000;

/** Deletes OAuth device authorizations and tokens that expired over a day ago; returns how many. */
export async function pruneExpiredOAuth(env: Bindings, now = Date.now()): Promise<number> {
  return deleteExpiredOAuth(env.DB, now - OAUTH_GRACE_MS);
}
