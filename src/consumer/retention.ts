/**
 * @module
 * The hourly retention cron. Audit: the D1 hot window keeps `AUDIT_HOT_DAYS` of full events, fewer
 * when more than `AUDIT_HOT_MAX_EVENTS` arrived in that time (counted from the hourly rollups, not
 * the events), and its start moves forward before any row goes, so the audit API reads the trimmed
 * range from the archive from then on; rollups and archive objects past their retention go too.
 * Deletes run in bounded chunks, so one run never holds the single D1 writer for long. OAuth:
 * device authorizations and tokens a day after they expired.
 */
import { archiveName, pruneArchive, writeArchive } from "../audit/archive";
import { auditWindows } from "../audit/windows";
import { auditDb } from "../db/audit-db";
import { advanceHotFrom, deleteEventsBefore, listUnarchivedBefore, markArchived } from "../db/audit";
import { eventsPerHour, pruneRollups } from "../db/audit-rollups";
import { deleteExpiredOAuth } from "../db/oauth";
import type { Bindings } from "../env";

const DAY_MS = 86_400_000;
const CHUNK = 5_000;
/** 10 M rows per run: more than a day of 100 req/s, and hourly runs keep up with 1,000 req/s. */
const MAX_CHUNKS_PER_RUN = 2_000;
const MAX_ARCHIVE_DELETES_PER_RUN = 100_000;

export interface PruneResult {
  /** Where the D1 hot window now starts. */
  hotFrom: string;
  /** Events stored before the archive existed, archived before their trim. */
  backfilled: number;
  events: number;
  rollups: number;
  archiveObjects: number;
}

/** Trims every audit tier; a later run continues where a budget stopped. */
export async function pruneAuditLog(env: Bindings, now = Date.now()): Promise<PruneResult> {
  const { hotDays, hotMaxEvents, retentionDays } = auditWindows(env);
  const db = auditDb(env);
  const wanted = await hotWindowStart(db, now - hotDays * DAY_MS, hotMaxEvents);
  // Rows stored before the archive existed go to it first (if the budget stops that, the window
  // starts at the oldest row still missing from the archive), then the readers move to the archive
  // for the range, then the rows go: no gap and no loss at any moment.
  const { archived: backfilled, oldestLeft } = await archiveOlderRows(env, db, wanted);
  const hotFrom = oldestLeft ?? wanted;
  await advanceHotFrom(db, hotFrom);
  let events = 0;
  for (let chunk = 0; chunk < MAX_CHUNKS_PER_RUN; chunk++) {
    const count = await deleteEventsBefore(db, hotFrom, CHUNK);
    events += count;
    if (count < CHUNK) break;
  }
  const rollups = await pruneRollups(db, now, retentionDays);
  const retainedFrom = new Date(now - retentionDays * DAY_MS).toISOString().slice(0, 10);
  const archiveObjects = await pruneArchive(env.AUDIT_ARCHIVE, retainedFrom, MAX_ARCHIVE_DELETES_PER_RUN);
  return { hotFrom, backfilled, events, rollups, archiveObjects };
}

const BACKFILL_CHUNK = 1_000;
const MAX_BACKFILL_CHUNKS_PER_RUN = 500;

/**
 * Archives the events before `before` that no consumer archived (stored before the archive
 * existed); `oldestLeft` is the time of the oldest one the budget left for the next run.
 */
async function archiveOlderRows(env: Bindings, db: D1Database, before: string): Promise<{ archived: number; oldestLeft?: string }> {
  let archived = 0;
  for (let chunk = 0; chunk <= MAX_BACKFILL_CHUNKS_PER_RUN; chunk++) {
    const rows = await listUnarchivedBefore(db, before, BACKFILL_CHUNK);
    if (rows.length === 0) return { archived };
    if (chunk === MAX_BACKFILL_CHUNKS_PER_RUN) return { archived, oldestLeft: rows[0]!.ts };
    const ids = rows.map((row) => row.id);
    await writeArchive(env.AUDIT_ARCHIVE, await archiveName(ids), rows);
    await markArchived(db, ids);
    archived += rows.length;
  }
  return { archived };
}

/**
 * The start of the hot window: `oldest`, or later when the newest hours since then hold more than
 * `maxEvents`, the start of the oldest hour that still fits.
 */
async function hotWindowStart(db: D1Database, oldest: number, maxEvents: number): Promise<string> {
  let kept = 0;
  const start = new Date(oldest).toISOString();
  for (const { bucket, count } of await eventsPerHour(db, start)) {
    kept += count;
    if (kept > maxEvents) {
      const next = new Date(Date.parse(`${bucket}:00:00.000Z`) + 3_600_000).toISOString();
      return next > start ? next : start;
    }
  }
  return start;
}

/** Expired OAuth rows are kept a day, so a late poll or refresh still gets a precise error. */
const OAUTH_GRACE_MS = 86_400_000;

/** Deletes OAuth device authorizations and tokens that expired over a day ago; returns how many. */
export async function pruneExpiredOAuth(env: Bindings, now = Date.now()): Promise<number> {
  return deleteExpiredOAuth(env.DB, now - OAUTH_GRACE_MS);
}
