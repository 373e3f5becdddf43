// Scale figures: the cold D1 lookup (memory and KV cold, so every request reads its key from D1)
// with 1k, 100k and 1M keys in the table. Each size gets its own Keygate instance (its own workerd
// and fresh D1), all alive together, so the load rounds interleave across sizes and a drift of the
// shared machine lands on every size alike.
import { cpuMs, rssMb } from "./proc.mjs";
import { runLoad } from "./load.mjs";
import { median, minMax, percentile, round } from "./stats.mjs";

/**
 * @param {object} o
 * @param {number[]} o.sizes - total rows in api_keys per instance
 * @param {(size: number) => Promise<{ url: URL, pid: number, seed: (path: string, body: object) => Promise<any>, templateId: string, templateKey: string }>} o.start
 * @param {number} o.rounds
 * @param {number} o.durationS - fixed-load seconds per size and round
 * @param {number} o.rate - requests per second at fixed load
 * @param {number} o.warmupS - one unrecorded fixed-load run per size first (JIT, connections)
 * @param {number} o.seedDeadlineS - bound on the whole seeding of one size
 * @param {(m: string) => void} o.log
 */
export async function runScale(o) {
  const perRequestKeys = Math.ceil((o.rounds * o.durationS + o.warmupS) * o.rate * 1.25) + 100;
  const sizes = [];
  for (const size of o.sizes) {
    if (perRequestKeys > size) o.log(`  scale: the load uses ${perRequestKeys} keys, so the ${size.toLocaleString("en-US")} size holds ${perRequestKeys} rows`);
    const instance = await o.start(size);
    // Keys the load uses, each once (memory and KV cold), created first so they count in the size.
    const keys = [];
    while (keys.length < perRequestKeys) {
      keys.push(...(await instance.seed("/keys", { template_id: instance.templateId, count: Math.min(10_000, perRequestKeys - keys.length) })).keys);
    }
    const started = performance.now();
    let rows = 0;
    for (;;) {
      ({ rows } = await instance.seed("/fill", { template_id: instance.templateId, total: size, chunk: 100_000 }));
      if (rows >= size) break;
      if (performance.now() - started > o.seedDeadlineS * 1000) throw new Error(`scale: seeding ${size} keys took over ${o.seedDeadlineS} s (at ${rows})`);
    }
    const seedS = round((performance.now() - started) / 1000, 1);
    const lookup = await instance.seed("/lookup", { keys: keys.slice(0, 500) });
    o.log(`  scale ${size.toLocaleString("en-US")} keys: ${rows.toLocaleString("en-US")} rows seeded in ${seedS} s; ${lookup.lookups} findKeyByHash in ${lookup.elapsedMs} ms; plan: ${lookup.plan}`);
    sizes.push({ size, rows, seedS, instance, keys, next: 0, lookup, runs: [], rssMb: rssMb(instance.pid) });
  }

  const load = (s, durationS) =>
    runLoad({
      url: s.instance.url,
      path: "/api/v1/stories",
      nextHeaders: () => (s.next < s.keys.length ? { "x-api-key": s.keys[s.next++] } : null),
      expect: 200,
      connections: 4,
      durationS,
      overallRate: o.rate,
      pid: s.instance.pid,
      keepLatencies: true,
    });
  for (const s of sizes) await load(s, o.warmupS);
  for (let r = 0; r < o.rounds; r++) {
    const shift = r % sizes.length;
    for (const s of [...sizes.slice(shift), ...sizes.slice(0, shift)]) {
      const result = await load(s, o.durationS);
      s.runs.push(result);
      o.log(`  scale ${s.size.toLocaleString("en-US").padStart(9)} keys, round ${r + 1}: p50 ${result.latencyMs.p50?.toFixed(2)} p99 ${result.latencyMs.p99?.toFixed(2)} ms, ${result.cpuUsPerReq?.toFixed(0)} µs CPU/req${result.unexpected ? `  !! ${result.unexpected} unexpected ${JSON.stringify(result.statuses)}` : ""}${result.exhausted ? "  !! pool exhausted" : ""}`);
    }
  }

  const out = sizes.map((s) => {
    const latencies = s.runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
    const total = s.runs.reduce((a, run) => a + run.total, 0);
    const unexpected = s.runs.reduce((a, run) => a + run.unexpected, 0);
    return {
      size: s.size,
      rows: s.rows,
      seedS: s.seedS,
      rssMb: s.rssMb,
      lookupUs: round((s.lookup.elapsedMs * 1000) / s.lookup.lookups, 0),
      plan: s.lookup.plan,
      samples: latencies.length,
      p50: round(percentile(latencies, 0.5), 2),
      p99: round(percentile(latencies, 0.99), 2),
      roundP99s: s.runs.map((run) => round(run.latencyMs.p99, 2)),
      roundP99Range: minMax(s.runs.map((run) => run.latencyMs.p99)).map((x) => round(x, 2)),
      medianRoundP99: round(median(s.runs.map((run) => run.latencyMs.p99)), 2),
      cpuUsPerReq: round(median(s.runs.map((run) => run.cpuUsPerReq)), 0),
      valid: total > 0 && unexpected / total <= 0.01 && !s.runs.some((run) => run.exhausted),
    };
  });
  const smallest = out[0];
  for (const s of out) s.p99VsSmallest = smallest.p99 ? round(s.p99 / smallest.p99, 3) : null;
  return { rounds: o.rounds, durationS: o.durationS, rate: o.rate, sizes: out };
}
