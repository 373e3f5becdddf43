// Scale figures: the cold D1 lookup (memory and KV cold, so every request reads its key from D1)
// with 1k, 100k and 1M keys in the table. Each size gets its own Keygate instance (its own workerd
// and fresh D1), all alive together. The load runs in many short rounds, each size once per round
// at the fixed rate, the order rotated each round. The target compares sizes within a round: each
// round's p99s are divided by that round's geometric mean over sizes, and a size's figure is the
// median of its ratios over rounds. A drift of the shared machine (the p99 of every size moves 3×
// between rounds of a loaded run) cancels in the ratio, and a burst that hits one run moves the
// median by one rank, where it would own the tail of a p99 pooled over all rounds.
//
// Every size loads the same keys' worth, created with Keygate's own `insertKey`, so the smallest
// table holds its size and no more. Keys are reused across rounds and are cold every time: the
// instances run with KEY_CACHE_TTL_S=1 (a key's memory entry has expired before it comes round
// again) and the seeder deletes the instance's KV entries before each run.
import { cpuMs, rssMb } from "./proc.mjs";
import { runLoad } from "./load.mjs";
import { median, minMax, percentile, round } from "./stats.mjs";

/**
 * @param {object} o
 * @param {number[]} o.sizes - total rows in api_keys per instance
 * @param {(size: number) => Promise<{ url: URL, pid: number, seed: (path: string, body: object) => Promise<any>, templateId: string }>} o.start
 *   an instance whose memory tier forgets a key within a round (KEY_CACHE_TTL_S=1)
 * @param {number} o.keyCacheTtlS - the instances' KEY_CACHE_TTL_S, reported
 * @param {number} o.poolKeys - keys each instance's load cycles through (fewer than the smallest size)
 * @param {number} o.rounds
 * @param {number} o.durationS - fixed-load seconds per size and round
 * @param {number} o.rate - requests per second at fixed load
 * @param {number} o.warmupS - one unrecorded run per size first (JIT, connections)
 * @param {number} o.lookupRounds - rounds of in-Worker `findKeyByHash` calls, in the load's orders
 * @param {number} o.lookupsPerRound
 * @param {number} o.seedDeadlineS - bound on the whole seeding of one size
 * @param {(m: string) => void} o.log
 */
export async function runScale(o) {
  checkScaleOptions(o);
  const sizes = [];
  for (const size of o.sizes) sizes.push(await prepareSize(o, size));
  await measureLookups(o, sizes);
  await measureLoad(o, sizes);
  return summarize(o, sizes);
}

/**
 * Keys one run may use: a pool that runs dry invalidates the run. autocannon's rate is per
 * second-long window, and a run can touch one window more than its duration.
 */
const runKeys = (rate, durationS) => Math.ceil((durationS + 1) * rate * 1.25) + 20;

/** Throws when the key pool cannot keep every request cold at these options (run.mjs checks first). */
export function checkScaleOptions(o) {
  const perRun = runKeys(o.rate, Math.max(o.durationS, o.warmupS));
  // Twice a run's keys: a key comes round again at the earliest a whole run of its size later,
  // by when its 1 s memory entry has expired.
  if (o.durationS <= o.keyCacheTtlS) throw new Error(`scale: rounds must outlast KEY_CACHE_TTL_S (${o.keyCacheTtlS} s)`);
  if (o.poolKeys < 2 * perRun) throw new Error(`scale: a run uses up to ${perRun} keys; a pool of ${o.poolKeys} must hold twice that`);
  if (o.poolKeys >= Math.min(...o.sizes)) throw new Error(`scale: a pool of ${o.poolKeys} keys would not fit the ${Math.min(...o.sizes)} size`);
}

const fmtSize = (n) => n.toLocaleString("en-US");

/** Starts the instance of one size, creates its key pool and fills `api_keys` to `size` rows. */
async function prepareSize(o, size) {
  const instance = await o.start(size);
  const keys = [];
  while (keys.length < o.poolKeys) {
    keys.push(...(await instance.seed("/keys", { template_id: instance.templateId, count: Math.min(10_000, o.poolKeys - keys.length) })).keys);
  }
  const started = performance.now();
  let rows = 0;
  for (;;) {
    ({ rows } = await instance.seed("/fill", { template_id: instance.templateId, total: size, chunk: 100_000 }));
    if (rows >= size) break;
    if (performance.now() - started > o.seedDeadlineS * 1000) throw new Error(`scale: seeding ${size} keys took over ${o.seedDeadlineS} s (at ${rows})`);
  }
  const seedS = round((performance.now() - started) / 1000, 1);
  o.log(`  scale ${fmtSize(size)} keys: ${fmtSize(rows)} rows seeded in ${seedS} s`);
  return { size, rows, seedS, instance, keys, next: 0, plan: null, lookups: [], runs: [], rssMb: rssMb(instance.pid) };
}

/** The next `n` keys of a size's pool, cycling. */
function takeKeys(s, n) {
  const out = Array.from({ length: n }, (_, i) => s.keys[(s.next + i) % s.keys.length]);
  s.next = (s.next + n) % s.keys.length;
  return out;
}

/**
 * `rounds` orders of `items`: its rotations, then the rotations of its reverse, and so on. Each
 * item takes each place equally often, and (with three sizes) follows each other item equally
 * often, so what a run leaves behind (write-backs, GC) lands on every size alike; rotations alone
 * would put one size after the same neighbour in two rounds out of three.
 */
function rotations(items, rounds) {
  return Array.from({ length: rounds }, (_, r) => {
    const base = Math.floor(r / items.length) % 2 ? [...items].reverse() : items;
    const shift = r % items.length;
    return [...base.slice(shift), ...base.slice(0, shift)];
  });
}

/** Sequential `findKeyByHash` inside each instance's seeder, after one unrecorded round. */
async function measureLookups(o, sizes) {
  for (const s of sizes) s.plan = (await s.instance.seed("/lookup", { keys: takeKeys(s, o.lookupsPerRound) })).plan;
  for (const order of rotations(sizes, o.lookupRounds)) {
    for (const s of order) s.lookups.push(await s.instance.seed("/lookup", { keys: takeKeys(s, o.lookupsPerRound) }));
  }
  for (const s of sizes) {
    const l = lookupStats(s.lookups);
    o.log(`  scale ${fmtSize(s.size).padStart(9)} keys: ${l.count} findKeyByHash, mean ${l.meanUs} µs, p99 ${l.p99Ms} ms (1 ms clock); plan: ${s.plan}`);
  }
}

function lookupStats(lookups) {
  const ms = lookups.flatMap((l) => l.ms).sort((a, b) => a - b);
  const elapsedMs = lookups.reduce((a, l) => a + l.elapsedMs, 0);
  return { count: ms.length, meanUs: ms.length ? round((elapsedMs * 1000) / ms.length, 0) : null, p99Ms: percentile(ms, 0.99), maxMs: ms.at(-1) ?? null };
}

/** One fixed-load run of a size at `rate`, on keys out of its memory tier, after a KV clear. */
function coldRun(s, durationS, rate) {
  const keys = takeKeys(s, runKeys(rate, durationS));
  let used = 0;
  return runLoad({
    url: s.instance.url,
    path: "/api/v1/stories",
    nextHeaders: () => (used < keys.length ? { "x-api-key": keys[used++] } : null),
    expect: 200,
    connections: 4,
    durationS,
    overallRate: rate,
    pid: s.instance.pid,
    keepLatencies: true,
  });
}

/**
 * Deletes the instance's KV entries. A cold request writes its key's entry back, so the count is
 * also the proof that each request of the size's last run missed the memory tier: one each.
 */
async function clearKv(s) {
  const { deleted } = await s.instance.seed("/kv-clear", {});
  const last = s.runs.at(-1);
  if (last && last.kvEntries === undefined) last.kvEntries = deleted;
}

/** CPU ms the other instances used during `run()`: work a previous run left behind. */
async function othersCpu(sizes, s, run) {
  const others = sizes.filter((x) => x !== s);
  const before = others.map((x) => cpuMs(x.instance.pid) ?? 0);
  const result = await run();
  result.othersCpuMs = others.reduce((a, x, i) => a + (cpuMs(x.instance.pid) ?? 0) - before[i], 0);
  return result;
}

async function measureLoad(o, sizes) {
  const run = async (s, durationS) => {
    // Its memory entries are older than KEY_CACHE_TTL_S by now: each key's last run is past.
    await clearKv(s);
    return othersCpu(sizes, s, () => coldRun(s, durationS, o.rate));
  };
  for (const s of sizes) await run(s, o.warmupS);
  for (const [r, order] of rotations(sizes, o.rounds).entries()) {
    const line = [];
    for (const s of order) {
      const result = await run(s, o.durationS);
      s.runs.push(result);
      const flags = `${result.unexpected ? ` !! ${result.unexpected} unexpected ${JSON.stringify(result.statuses)}` : ""}${result.exhausted ? " !! pool exhausted" : ""}`;
      line.push(`${fmtSize(s.size)}: p50 ${result.latencyMs.p50?.toFixed(1)} p99 ${result.latencyMs.p99?.toFixed(1)} ms ${result.cpuUsPerReq?.toFixed(0)} µs, others ${result.othersCpuMs.toFixed(0)} ms${flags}`);
    }
    o.log(`  scale round ${String(r + 1).padStart(2)}  ${line.join(" | ")}`);
  }
  // The last run's write-backs (in waitUntil) land just after its last responses.
  await new Promise((r) => setTimeout(r, 500));
  for (const s of sizes) await clearKv(s);
}

/** Largest ÷ smallest − 1, in %. */
function spreadPct(values) {
  const xs = values.filter((x) => x !== null);
  return xs.length > 1 ? round((Math.max(...xs) / Math.min(...xs) - 1) * 100, 1) : null;
}

function summarizeSize(s) {
  const latencies = s.runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const total = s.runs.reduce((a, run) => a + run.total, 0);
  const unexpected = s.runs.reduce((a, run) => a + run.unexpected, 0);
  const cpuKnown = s.runs.every((run) => run.cpuUsPerReq !== null);
  const kvWrites = s.runs.reduce((a, run) => a + (run.kvEntries ?? 0), 0);
  const roundP99s = s.runs.map((run) => run.latencyMs.p99);
  const lookup = lookupStats(s.lookups);
  return {
    size: s.size,
    rows: s.rows,
    seedS: s.seedS,
    rssMb: s.rssMb,
    plan: s.plan,
    lookups: lookup.count,
    lookupUs: lookup.meanUs,
    lookupP99Ms: lookup.p99Ms,
    lookupMaxMs: lookup.maxMs,
    samples: latencies.length,
    p50: round(percentile(latencies, 0.5), 2),
    p99: round(percentile(latencies, 0.99), 2),
    medianRoundP99: round(median(roundP99s), 2),
    roundP99s: roundP99s.map((x) => round(x, 2)),
    roundP99Range: minMax(roundP99s).map((x) => round(x, 2)),
    // ≥ 1: requests still in flight when a run stops write back too, uncounted.
    kvWritesPerRequest: total > 0 ? round(kvWrites / total, 3) : null,
    othersCpuMsPerRun: round(median(s.runs.map((run) => run.othersCpuMs)), 0),
    // CPU of all rounds over their requests (one run's is a few clock ticks).
    cpuUsPerReq: cpuKnown && total > 0 ? round(s.runs.reduce((a, run) => a + run.cpuUsPerReq * run.total, 0) / total, 0) : null,
    // Every request cold (a KV write-back each, to 1%), served, and no pool ran dry.
    valid: total > 0 && unexpected / total <= 0.01 && !s.runs.some((run) => run.exhausted) && kvWrites >= total * 0.99,
  };
}

/**
 * Paired comparison: in each round, every size's p99 ÷ the geometric mean of that round's p99s;
 * per size, the median of its ratios over rounds, and that ratio × the median round level in ms.
 */
function pairedP99s(sizes) {
  const rounds = sizes[0].runs
    .map((_, r) => sizes.map((s) => s.runs[r].latencyMs.p99))
    .filter((p99s) => p99s.every((x) => x > 0))
    .map((p99s) => {
      const level = Math.exp(p99s.reduce((a, x) => a + Math.log(x), 0) / p99s.length);
      return { level, ratios: p99s.map((x) => x / level) };
    });
  const level = median(rounds.map((r) => r.level));
  return sizes.map((_, i) => {
    const ratio = median(rounds.map((r) => r.ratios[i]));
    return { ratio: round(ratio, 3), ms: ratio === null ? null : round(ratio * level, 2) };
  });
}

function summarize(o, sizes) {
  const paired = pairedP99s(sizes);
  const out = sizes.map((s, i) => ({ ...summarizeSize(s), pairedP99: paired[i].ms, pairedP99Ratio: paired[i].ratio }));
  for (const s of out) s.p99VsSmallest = out[0].pairedP99Ratio ? round(s.pairedP99Ratio / out[0].pairedP99Ratio, 3) : null;
  return {
    rounds: o.rounds,
    durationS: o.durationS,
    rate: o.rate,
    warmupS: o.warmupS,
    poolKeys: o.poolKeys,
    keyCacheTtlS: o.keyCacheTtlS,
    lookupRounds: o.lookupRounds,
    lookupsPerRound: o.lookupsPerRound,
    orders: rotations(out.map((x) => x.size), o.rounds),
    sizes: out,
    // The target's estimator (paired within rounds), and two unpaired ones for comparison.
    spreadPct: {
      paired: spreadPct(out.map((s) => s.pairedP99Ratio)),
      medianRoundP99: spreadPct(out.map((s) => s.medianRoundP99)),
      pooledP99: spreadPct(out.map((s) => s.p99)),
    },
  };
}
