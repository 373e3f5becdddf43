// Micro-benchmarks inside workerd, timed from Node. workerd freezes its clocks while JavaScript
// runs, so the Worker (bench/micro/worker.ts) only loops; here each op's HTTP round trip is timed
// and the round trip of the empty loop with the same iteration count is subtracted.
import { median } from "./stats.mjs";

async function timeRun(base, op, n) {
  const url = new URL(`/run?op=${encodeURIComponent(op)}&n=${n}`, base);
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = await response.text();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`micro ${op}: ${response.status} ${body}`);
  return ms;
}

/**
 * ns/op = (min over reps of the op's batch − min over reps of the empty loop's) / n. On a shared
 * machine noise only ever adds time, so minima are the better estimate; medians are kept too.
 * @param {URL} base - the micro Worker's URL
 * @param {{ reps: number, targetMs: number, maxN?: number }} options
 */
export async function runMicro(base, { reps, targetMs, maxN = 2_000_000 }) {
  const ops = await (await fetch(new URL("/ops", base))).json();
  const results = [];
  for (const [op, describe] of Object.entries(ops)) {
    if (op === "noop") continue;
    // Calibrate n so one batch takes about targetMs (best of two timings at each step).
    let n = 1000;
    for (let step = 0; step < 8; step++) {
      const ms = Math.min(await timeRun(base, op, n), await timeRun(base, op, n));
      if (ms >= targetMs / 4 || n >= maxN) {
        n = Math.min(maxN, Math.max(n, Math.round((n * targetMs) / Math.max(ms, 0.5))));
        break;
      }
      n = Math.min(maxN, n * 4);
    }
    const opMs = [];
    const noopMs = [];
    for (let r = 0; r < reps; r++) {
      noopMs.push(await timeRun(base, "noop", n));
      opMs.push(await timeRun(base, op, n));
    }
    const nsPerOp = Math.max(0, ((Math.min(...opMs) - Math.min(...noopMs)) * 1e6) / n);
    const medianNs = Math.max(0, ((median(opMs) - median(noopMs)) * 1e6) / n);
    results.push({ op, describe, iterations: n, reps, nsPerOp, medianNsPerOp: medianNs });
  }
  return results;
}
