// The audit consumer's write rate into local D1 and the R2 archive (bench/consumer/worker.ts): the
// real queue handler with batches of 100 events (D1 events + rollups, then one gzip NDJSON object
// in R2) against one awaited INSERT per event, alternated over rounds in the same D1, timed from
// Node (wall clock of the call that writes) and inside the Worker.
import { cpuMs } from "./proc.mjs";
import { median, minMax, round } from "./stats.mjs";

async function post(base, path, timeoutMs = 300_000) {
  const response = await fetch(new URL(path, base), { method: "POST", signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new Error(`consumer ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

async function once(base, mode, events, pid) {
  await post(base, `/prepare?events=${events}`);
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const body = await post(base, `/run?mode=${mode}`);
  const wallMs = performance.now() - started;
  const cpuAfter = cpuMs(pid);
  const bytes = body.sizeBefore !== null && body.sizeAfter !== null ? body.sizeAfter - body.sizeBefore : null;
  return {
    mode,
    events: body.events,
    wallMs: round(wallMs, 1),
    workerMs: body.elapsedMs,
    eventsPerS: round((body.events * 1000) / wallMs, 0),
    workerEventsPerS: body.elapsedMs > 0 ? round((body.events * 1000) / body.elapsedMs, 0) : null,
    bytesPerEvent: bytes === null ? null : round(bytes / body.events, 0),
    archiveBytesPerEvent: round(body.archiveBytes / body.events, 1),
    keysTouched: body.keysTouched,
    // The consumer's workerd (its isolate, local D1 and R2) per event written: off the request path.
    cpuUsPerEvent: cpuBefore !== null && cpuAfter !== null ? round(((cpuAfter - cpuBefore) * 1000) / body.events, 1) : null,
  };
}

/**
 * @param {URL} base - the consumer Worker's URL
 * @param {{ rounds: number, events: number, keys: number, warmupEvents: number, pid?: number, log?: (line: string) => void }} options
 */
export async function runConsumer(base, { rounds, events, keys, warmupEvents, pid, log = () => {} }) {
  await post(base, `/setup?keys=${keys}`);
  // Warm-up (not recorded): JIT, D1's first pages.
  for (const mode of ["batched", "single"]) await once(base, mode, warmupEvents, pid);
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which mode goes first: the table grows every run, so neither mode always gets the smaller one.
    const order = r % 2 === 0 ? ["batched", "single"] : ["single", "batched"];
    const round_ = { round: r + 1 };
    for (const mode of order) {
      const x = await once(base, mode, events, pid);
      round_[mode] = x;
      log(
        `  round ${r + 1} ${mode.padEnd(7)} ${String(x.eventsPerS).padStart(7)} events/s wall (${x.wallMs} ms), ${String(x.workerEventsPerS ?? "–").padStart(7)} in the Worker` +
          (x.bytesPerEvent !== null ? `, ${x.bytesPerEvent} B/event stored` : "") +
          (x.archiveBytesPerEvent > 0 ? `, ${x.archiveBytesPerEvent} B/event in R2` : "") +
          (x.cpuUsPerEvent !== null ? `, ${x.cpuUsPerEvent} µs workerd CPU/event` : ""),
      );
    }
    round_.ratio = round_.batched.eventsPerS / round_.single.eventsPerS;
    round_.workerRatio = round_.batched.workerEventsPerS && round_.single.workerEventsPerS ? round_.batched.workerEventsPerS / round_.single.workerEventsPerS : null;
    runs.push(round_);
  }
  const per = (mode, k) => runs.map((x) => x[mode][k]);
  const summary = (mode) => ({
    eventsPerS: round(median(per(mode, "eventsPerS")), 0),
    eventsPerSRange: minMax(per(mode, "eventsPerS")),
    workerEventsPerS: round(median(per(mode, "workerEventsPerS")), 0),
    bytesPerEvent: round(median(per(mode, "bytesPerEvent")), 0),
    archiveBytesPerEvent: round(median(per(mode, "archiveBytesPerEvent")), 1),
    cpuUsPerEvent: round(median(per(mode, "cpuUsPerEvent")), 1),
  });
  const last = runs.at(-1);
  return {
    method: {
      rounds,
      eventsPerRun: events,
      keys,
      messagesPerBatch: 100,
      batched: "consumeAuditBatch (src/consumer/audit-consumer.ts) on fake MessageBatches of 100 messages × 1 event, one after the other: per batch one D1 batch (staging INSERT … SELECT FROM json_each, events, minute/hour/scope rollups, last_used_at UPDATE), then one gzip NDJSON object in R2 (the archive on)",
      single: "one INSERT INTO audit_events (24 columns) VALUES (?, …) per event, each awaited before the next; no last_used_at update",
    },
    batched: summary("batched"),
    single: summary("single"),
    ratio: round(median(runs.map((x) => x.ratio)), 1),
    ratioRange: minMax(runs.map((x) => x.ratio)).map((x) => round(x, 1)),
    workerRatio: round(median(runs.map((x) => x.workerRatio)), 1),
    keysTouched: last?.batched.keysTouched ?? null,
    rounds: runs.map((x) => ({ ...x, ratio: round(x.ratio, 2), workerRatio: round(x.workerRatio, 2) })),
  };
}
