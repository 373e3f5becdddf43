// Keygate's own JavaScript per request, in process: bench/micro/request-path.ts sends whole
// requests through the Worker's fetch (stub origin and Queue) and this counts the isolate's CPU
// with V8's sampling profiler. The clock stands still while JavaScript runs and the ops wait for
// their audit batches, so wall time would measure the waits; profile samples count only work
// (summarizeProfile counts each sample as one interval).
import { inspectorTarget, profileDuring, summarizeProfile } from "./profile.mjs";
import { median } from "./stats.mjs";

export const REQUEST_PATH_OPS = {
  "request-bare-proxy": "bench/peers/bare-proxy.ts's work (new URL, copy headers, fetch, return)",
  "request-passthrough": "Keygate: public route, no credential",
  "request-memory-hit": "Keygate: API key from the memory cache",
  "request-invalid-checksum": "Keygate: a key failing its checksum (401, no I/O)",
};

async function run(base, op, n) {
  const response = await fetch(new URL(`/run?op=${op}&n=${n}`, base), { signal: AbortSignal.timeout(120_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`request path ${op}: ${response.status} ${body}`);
}

/**
 * µs of isolate CPU per request for each op: the median over `reps` profiled runs of `n` requests
 * (after a warm-up run), with the functions that spend most of it in the median run.
 * @param {{ mf: import("miniflare").Miniflare, url: URL, script: string, workerName: string }} instance - the micro Worker, started with its inspector
 */
export async function runRequestPath(instance, { n = 2000, reps = 5, only = [] } = {}) {
  const ws = await inspectorTarget(instance.mf, instance.workerName);
  const results = [];
  for (const [op, describe] of Object.entries(REQUEST_PATH_OPS)) {
    if (only.length > 0 && !only.some((prefix) => op.startsWith(prefix))) continue;
    await run(instance.url, op, Math.min(n, 500));
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const { profile } = await profileDuring(ws, () => run(instance.url, op, n), 100);
      const summary = summarizeProfile(profile, instance.script);
      runs.push({ usPerRequest: (summary.busyMs * 1000) / n, top: summary.self.slice(0, 12) });
    }
    runs.sort((a, b) => a.usPerRequest - b.usPerRequest);
    const mid = runs[Math.floor(runs.length / 2)];
    results.push({ op, describe, requests: n, reps, usPerRequest: median(runs.map((r) => r.usPerRequest)), minUsPerRequest: runs[0].usPerRequest, top: mid.top.map((f) => ({ name: f.name, usPerRequest: (f.ms * 1000) / n })) });
  }
  return results;
}
