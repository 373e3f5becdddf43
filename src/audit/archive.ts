/**
 * @module
 * The R2 audit archive, the long-term record (SPEC §9): every event the consumer stores is also
 * written here as gzip NDJSON, newest first, one object per consumer batch and event hour:
 * `events/dt=YYYY-MM-DD/hour=HH/<name>.ndjson.gz`. The name is derived from the batch's message
 * ids, so a redelivered batch rewrites its object instead of adding one. Each object's custom
 * metadata holds its event count and time span, so a reader lists an hour and fetches only the
 * objects that overlap the range it wants.
 *
 * Reading is newest first in bounded memory: an hour is cut into time slices whose overlapping
 * objects hold at most {@link SLICE_EVENTS} events in {@link SLICE_OBJECTS} objects, each slice is
 * read, filtered, de-duplicated by event id (a batch the Queue regroups on redelivery can put an
 * event in two objects) and sorted. A read has a budget of R2 operations; when it runs out the
 * reader says where to resume, so a json page answers with a cursor instead of exceeding the
 * Worker's subrequest limit.
 */
import { EQUALITY_FILTERS, type AuditFilter } from "../db/audit";
import { idFloor, idTime } from "../core/ids";
import { AuditEventSchema, type AuditEvent } from "../schemas/audit-event";
import { sha256Hex } from "../core/sha256";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Events of overlapping objects read into memory at once, at most (unless one second holds more). */
const SLICE_EVENTS = 20_000;
/** Objects read for one slice, at most: well under a request's budget, so every read progresses. */
const SLICE_OBJECTS = 50;
const MIN_SLICE_MS = 1_000;
const EVENTS_PREFIX = "events/";

interface ObjectInfo {
  key: string;
  count: number;
  minTs: number;
  maxTs: number;
}

/** The object name for a batch: the same message ids always give the same name. */
export async function archiveName(messageIds: readonly string[]): Promise<string> {
  return (await sha256Hex([...messageIds].sort().join("\n"))).slice(0, 32);
}

function hourPrefix(hourStart: number): string {
  const iso = new Date(hourStart).toISOString();
  return `${EVENTS_PREFIX}dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
}

/** Writes `events` under `name`, one object per event hour; resolves once every object is stored. */
export async function writeArchive(bucket: R2Bucket, name: string, events: readonly AuditEvent[]): Promise<void> {
  const hours = new Map<number, Map<string, AuditEvent>>();
  for (const event of events) {
    const hour = Math.floor(Date.parse(event.ts) / HOUR_MS) * HOUR_MS;
    let byId = hours.get(hour);
    if (!byId) hours.set(hour, (byId = new Map()));
    byId.set(event.id, event);
  }
  await Promise.all(
    [...hours].map(async ([hour, byId]) => {
      const sorted = [...byId.values()].sort(newestFirst);
      const times = sorted.map((event) => Date.parse(event.ts));
      const body = await gzip(sorted.map((event) => `${JSON.stringify(event)}\n`).join(""));
      await bucket.put(`${hourPrefix(hour)}${name}.ndjson.gz`, body, {
        httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
        customMetadata: { count: String(sorted.length), min_ts: new Date(Math.min(...times)).toISOString(), max_ts: new Date(Math.max(...times)).toISOString() },
      });
    }),
  );
}

/**
 * Keeps a message the consumer cannot parse (retrying cannot fix it) under `rejected/`, whole, so
 * nothing is dropped: an operator can inspect and replay it.
 */
export async function quarantine(bucket: R2Bucket, messageId: string, body: unknown, now = Date.now()): Promise<string> {
  const key = `rejected/dt=${new Date(now).toISOString().slice(0, 10)}/${await archiveName([messageId])}.json`;
  await bucket.put(key, JSON.stringify({ message_id: messageId, received_at: new Date(now).toISOString(), body }), {
    httpMetadata: { contentType: "application/json" },
  });
  return key;
}

async function gzip(text: string): Promise<ArrayBuffer> {
  // R2 needs the length up front, so the compressed bytes are collected rather than streamed.
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

function newestFirst(a: AuditEvent, b: AuditEvent): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Where an archive read stopped early (its R2 operation budget ran out): resume before this id. */
export interface ArchiveProgress {
  /** R2 operations (lists and gets) this read may still make. */
  budget: number;
  /** Set when the budget ran out: every event not yet yielded has an id below this position. */
  resumeBefore?: string;
}

/**
 * Archived events matching `filter` with `since <= ts < until` (both required here) and an id
 * below `beforeId`, newest first.
 */
export async function* readArchive(
  bucket: R2Bucket,
  filter: AuditFilter & { since: string; until: string },
  beforeId: string | undefined,
  progress: ArchiveProgress,
): AsyncGenerator<AuditEvent> {
  const lo = Date.parse(filter.since);
  let hi = Date.parse(filter.until);
  const cursorTime = beforeId === undefined ? NaN : idTime(beforeId);
  if (Number.isFinite(cursorTime)) hi = Math.min(hi, cursorTime + 1);
  // Day by day, newest first: one listing names the day's hours that hold objects, so empty
  // hours cost nothing.
  for (let day = Math.floor((hi - 1) / DAY_MS) * DAY_MS; day + DAY_MS > lo && hi > lo; day -= DAY_MS) {
    const hours = await listDayHours(bucket, day, progress);
    if (hours === undefined) return stop(progress, Math.min(hi, day + DAY_MS));
    for (const hour of hours) {
      if (hour >= hi || hour + HOUR_MS <= lo) continue;
      const objects = await listHour(bucket, hour, progress);
      if (objects === undefined) return stop(progress, Math.min(hi, hour + HOUR_MS));
      const done = yield* readSlice(bucket, objects, Math.max(lo, hour), Math.min(hi, hour + HOUR_MS), filter, beforeId, progress);
      if (!done) return;
    }
  }
}

function stop(progress: ArchiveProgress, before: number): void {
  progress.resumeBefore = idFloor("evt", before);
}

/** The starts of the hours of `day` that hold objects, newest first. */
async function listDayHours(bucket: R2Bucket, day: number, progress: ArchiveProgress): Promise<number[] | undefined> {
  const prefix = hourPrefix(day).replace(/hour=\d\d\/$/, "");
  const hours: number[] = [];
  let cursor: string | undefined;
  do {
    if (progress.budget-- <= 0) return undefined;
    const page = await bucket.list({ prefix, delimiter: "/", cursor });
    for (const sub of page.delimitedPrefixes) {
      const hour = Number(sub.slice(prefix.length + 5, prefix.length + 7));
      if (Number.isInteger(hour)) hours.push(day + hour * HOUR_MS);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return hours.sort((a, b) => b - a);
}

async function listHour(bucket: R2Bucket, hour: number, progress: ArchiveProgress): Promise<ObjectInfo[] | undefined> {
  const objects: ObjectInfo[] = [];
  let cursor: string | undefined;
  do {
    if (progress.budget-- <= 0) return undefined;
    const page = await bucket.list({ prefix: hourPrefix(hour), cursor, include: ["customMetadata"] });
    for (const object of page.objects) {
      const meta = object.customMetadata ?? {};
      objects.push({ key: object.key, count: Number(meta.count ?? 0), minTs: Date.parse(meta.min_ts ?? ""), maxTs: Date.parse(meta.max_ts ?? "") });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return objects;
}

/** Yields the slice `[lo, hi)` newest first; returns false when the budget stopped it. */
async function* readSlice(
  bucket: R2Bucket,
  objects: readonly ObjectInfo[],
  lo: number,
  hi: number,
  filter: AuditFilter,
  beforeId: string | undefined,
  progress: ArchiveProgress,
): AsyncGenerator<AuditEvent, boolean> {
  // An object without readable metadata overlaps everything: it is read, never skipped.
  const overlapping = objects.filter((o) => !(o.minTs >= hi) && !(o.maxTs < lo));
  if (overlapping.length === 0) return true;
  const total = overlapping.reduce((sum, o) => sum + o.count, 0);
  if ((total > SLICE_EVENTS || overlapping.length > SLICE_OBJECTS) && hi - lo > MIN_SLICE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2);
    return (yield* readSlice(bucket, objects, mid, hi, filter, beforeId, progress)) && (yield* readSlice(bucket, objects, lo, mid, filter, beforeId, progress));
  }
  if (progress.budget < overlapping.length) {
    stop(progress, hi);
    return false;
  }
  progress.budget -= overlapping.length;
  const byId = new Map<string, AuditEvent>();
  for (const object of overlapping) {
    for (const event of await readObject(bucket, object.key)) {
      const ts = Date.parse(event.ts);
      if (ts >= lo && ts < hi && (beforeId === undefined || event.id < beforeId) && matches(event, filter)) byId.set(event.id, event);
    }
  }
  yield* [...byId.values()].sort(newestFirst);
  return true;
}

async function readObject(bucket: R2Bucket, key: string): Promise<AuditEvent[]> {
  const object = await bucket.get(key);
  if (object === null) return []; // deleted by retention since the listing
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  const events: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const parsed = AuditEventSchema.safeParse(JSON.parse(line));
    if (parsed.success) events.push(parsed.data);
  }
  return events;
}

/** The JavaScript twin of the D1 query's WHERE clause (src/db/audit.ts). */
function matches(event: AuditEvent, filter: AuditFilter): boolean {
  return (
    EQUALITY_FILTERS.every((field) => filter[field] === undefined || event[field] === filter[field]) &&
    (filter.required_scope === undefined || event.required_scopes.includes(filter.required_scope)) &&
    (filter.missing_scope === undefined || event.missing_scopes.includes(filter.missing_scope))
  );
}

/** Deletes archive days before `beforeDay` (`YYYY-MM-DD`), at most `budget` objects; returns how many. */
export async function pruneArchive(bucket: R2Bucket, beforeDay: string, budget: number): Promise<number> {
  let deleted = 0;
  for (const prefix of [EVENTS_PREFIX, "rejected/"]) {
    const days = await bucket.list({ prefix, delimiter: "/" });
    for (const day of days.delimitedPrefixes) {
      if (day.slice(prefix.length + 3, prefix.length + 13) >= beforeDay) continue;
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix: day, cursor, limit: Math.min(1000, budget - deleted) });
        if (page.objects.length > 0) await bucket.delete(page.objects.map((object) => object.key));
        deleted += page.objects.length;
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor && deleted < budget);
      if (deleted >= budget) return deleted;
    }
  }
  return deleted;
}
