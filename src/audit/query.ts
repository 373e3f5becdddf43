/**
 * @module
 * One query surface over both audit tiers (SPEC §9): events newest first from the D1 hot window,
 * then, for the part of the range older than the window, from the R2 archive with the same filters.
 * The two meet at one boundary, `hotFrom`: D1 answers `ts >= hotFrom` and the archive `ts < hotFrom`.
 * Every event is in the archive and D1 holds everything since `hotFrom` (the cron moves it forward
 * before trimming), so the seam has no duplicates and no gaps.
 */
import { auditDb } from "../db/audit-db";
import { listEvents, readHotFrom, type AuditFilter } from "../db/audit";
import type { Bindings } from "../env";
import type { AuditEvent } from "../schemas/audit-event";
import { readArchive, type ArchiveProgress } from "./archive";
import { auditWindows } from "./windows";

const DAY_MS = 86_400_000;
const D1_PAGE = 1000;

/** Where the hot window starts now, and the oldest time the archive still keeps. */
export async function tierBounds(env: Bindings, now = Date.now()): Promise<{ hotFrom: string; archiveFrom: string }> {
  const { hotDays, retentionDays } = auditWindows(env);
  const trimmed = await readHotFrom(auditDb(env));
  const byAge = new Date(now - hotDays * DAY_MS).toISOString();
  return { hotFrom: trimmed !== null && trimmed > byAge ? trimmed : byAge, archiveFrom: new Date(now - retentionDays * DAY_MS).toISOString() };
}

/**
 * Every event matching `filter` with an id below `beforeId`, newest first, across both tiers.
 * The archive part stops early when `progress.budget` runs out (then `progress.resumeBefore` is set).
 */
export async function* auditEvents(env: Bindings, filter: AuditFilter, beforeId: string | undefined, progress: ArchiveProgress): AsyncGenerator<AuditEvent> {
  const { hotFrom, archiveFrom } = await tierBounds(env);
  if (filter.until === undefined || filter.until > hotFrom) {
    const hot = { ...filter, since: later(filter.since, hotFrom) };
    let before = beforeId;
    for (;;) {
      const rows = await listEvents(auditDb(env), hot, before, D1_PAGE);
      yield* rows;
      if (rows.length < D1_PAGE) break;
      before = rows.at(-1)?.id;
    }
  }
  const since = later(filter.since, archiveFrom);
  const until = filter.until === undefined || filter.until > hotFrom ? hotFrom : filter.until;
  if (since < until) yield* readArchive(env.AUDIT_ARCHIVE, { ...filter, since, until }, beforeId, progress);
}

function later(a: string | undefined, b: string): string {
  return a === undefined || a < b ? b : a;
}

/** The first `count` events of `events` (fewer when it ends first). */
export async function take<T>(events: AsyncIterable<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  if (count <= 0) return taken;
  for await (const event of events) {
    taken.push(event);
    if (taken.length >= count) break;
  }
  return taken;
}

/**
 * `events`, then a rejection if the archive read stopped on its budget: an export must end in an
 * error rather than look complete when it is not.
 */
export async function* completeOrFail<T>(events: AsyncIterable<T>, progress: ArchiveProgress): AsyncGenerator<T> {
  yield* events;
  if (progress.resumeBefore !== undefined) {
    throw new Error("the archive range needs more R2 reads than one export may make; export a narrower range (since/until) or page with format=json");
  }
}
