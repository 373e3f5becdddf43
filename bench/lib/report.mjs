// Turns the raw rounds into per-scenario summaries and target verdicts, and writes them as
// Markdown and as a hand-written SVG chart.
import { median, minMax, round } from "./stats.mjs";

const UNEXPECTED_LIMIT = 0.01; // a run with more than 1% wrong statuses measures something else

// The issue-13 targets: every Keygate scenario against the bare proxy (the physical limit) or the
// peer that does the same storage work, each ratio taken within one round.
const TARGETS = [
  { id: "passthrough-vs-bare", name: "Passthrough throughput ≥ 0.90× bare proxy", scenario: "passthrough", metric: "vsBare", op: ">=", threshold: 0.9, unit: "×", also: ["peer-bare-proxy"] },
  { id: "memory-vs-bare", name: "Memory-hit throughput ≥ 0.85× bare proxy", scenario: "memory-hit", metric: "vsBare", op: ">=", threshold: 0.85, unit: "×", also: ["peer-bare-proxy"] },
  { id: "memory-cpu-vs-bare", name: "Memory-hit workerd CPU µs/req ≤ 1.15× bare proxy's", scenario: "memory-hit", metric: "bareCpuRatio", op: "<=", threshold: 1.15, unit: "×", also: ["peer-bare-proxy"] },
  { id: "kv-vs-floor", name: "KV hit (memory cold) throughput ≥ 0.90× the KV control", scenario: "kv-hit", metric: "vsKvFloor", op: ">=", threshold: 0.9, unit: "×", also: ["peer-kv-floor"] },
  { id: "d1-vs-naive", name: "Cold D1 path throughput ≥ 1.0× the naive D1 Worker", scenario: "d1-cold", metric: "vsNaive", op: ">=", threshold: 1.0, unit: "×", also: ["peer-naive-d1"] },
  {
    id: "audit",
    name: "Audit to a no-op queue ≥ 0.97× audit removed (memory-hit, request path)",
    scenario: "memory-hit",
    metric: "vsAuditOff",
    op: ">=",
    threshold: 0.97,
    unit: "×",
    also: ["memory-hit-audit-off"],
  },
  {
    id: "audit-local-pipeline",
    name: "(info) Same, with the local queue broker and consumer writing D1 in the same process: memory-hit ≥ 0.97× audit removed",
    scenario: "memory-hit-local-queue",
    metric: "vsAuditOff",
    op: ">=",
    threshold: 0.97,
    unit: "×",
    also: ["memory-hit-audit-off"],
  },
];

/** The scale and memory targets, from their own sections (null when a section did not run). */
function sectionTargets({ scale, memory }) {
  const out = [];
  const id = "scale-p99";
  const name = "Cold D1 lookup p99 within 10% across 1k, 100k and 1M keys in D1 (fixed load)";
  if (!scale) out.push({ id, name, status: "NOT MEASURED YET", measured: "not measured (no scale section in this run)", value: null });
  else {
    const value = scale.spreadPct.paired;
    const sizes = scale.sizes.map((x) => x.size.toLocaleString("en-US")).join(" / ");
    const measured =
      value === null
        ? "n/a"
        : `${value}% (p99 paired within ${scale.rounds} rounds: ${scale.sizes.map((x) => x.pairedP99).join(" / ")} ms at ${sizes}; unpaired: median of round p99s ${scale.spreadPct.medianRoundP99}%, pooled p99 ${scale.spreadPct.pooledP99}%)`;
    out.push({ id, name, threshold: 10, op: "<=", value, measured, status: !scale.sizes.every((x) => x.valid) ? "INVALID" : value !== null && value <= 10 ? "PASS" : "MISS" });
  }
  const m100k = memory?.sizes.find((x) => x.keys === 100_000);
  const memName = "Isolate memory held by 100k cached keys ≤ 32 MB";
  if (!m100k) out.push({ id: "memory-100k", name: memName, status: "NOT MEASURED YET", measured: "not measured", value: null });
  else out.push({ id: "memory-100k", name: memName, threshold: 32, op: "<=", value: m100k.mb, measured: `${m100k.mb} MB (${m100k.bytesPerKey} B/key)`, status: m100k.mb <= 32 ? "PASS" : "MISS" });
  return out;
}

/** What audit costs per request, from the CPU columns of the audit scenarios (µs of workerd CPU). */
function auditCost(byId) {
  const cpu = (id) => byId[id]?.summary.cpuUsPerReq ?? null;
  const off = cpu("memory-hit-audit-off");
  const sink = cpu("memory-hit");
  const local = cpu("memory-hit-local-queue");
  if (off === null || sink === null) return null;
  return { auditOffCpu: off, auditSinkCpu: sink, localPipelineCpu: local, producerUsPerReq: sink - off, localQueueAndConsumerUsPerReq: local === null ? null : local - sink };
}

export function summarize({ meta, scenarios, rounds, micro, requestPath = [], consumer = null, memory = null, scale = null, diagnostics }) {
  const perScenario = scenarios.map((s) => {
    const per = rounds
      .filter((r) => r.runs[s.id])
      .map((r) => {
        const run = r.runs[s.id];
        const pass = r.runs.passthrough;
        const naive = r.runs["peer-naive-d1"];
        const auditOff = r.runs["memory-hit-audit-off"];
        const kvFloor = r.runs["peer-kv-floor"];
        const bare = r.runs["peer-bare-proxy"];
        return {
          round: r.round,
          rps: run.saturation.rps,
          ratio: pass ? run.saturation.rps / pass.saturation.rps : null,
          vsNaive: naive ? run.saturation.rps / naive.saturation.rps : null,
          vsAuditOff: auditOff ? run.saturation.rps / auditOff.saturation.rps : null,
          vsKvFloor: kvFloor ? run.saturation.rps / kvFloor.saturation.rps : null,
          vsBare: bare ? run.saturation.rps / bare.saturation.rps : null,
          bareCpuRatio: bare?.saturation.cpuUsPerReq && run.saturation.cpuUsPerReq !== null ? run.saturation.cpuUsPerReq / bare.saturation.cpuUsPerReq : null,
          p50: run.saturation.latencyMs.p50,
          p99: run.saturation.latencyMs.p99,
          fixedP50: run.fixed.latencyMs.p50,
          fixedP99: run.fixed.latencyMs.p99,
          fixedRps: run.fixed.rps,
          fixedP99DeltaMs: pass && run.fixed.latencyMs.p99 !== null ? run.fixed.latencyMs.p99 - pass.fixed.latencyMs.p99 : null,
          cpuUsPerReq: run.saturation.cpuUsPerReq,
          cpuRatio: pass?.saturation.cpuUsPerReq && run.saturation.cpuUsPerReq !== null ? run.saturation.cpuUsPerReq / pass.saturation.cpuUsPerReq : null,
          unexpected: run.saturation.unexpected + run.fixed.unexpected,
          total: run.saturation.total + run.fixed.total,
          statuses: mergeCounts(run.saturation.statuses, run.fixed.statuses),
          exhausted: run.saturation.exhausted || run.fixed.exhausted,
          prepareMs: run.prepareMs,
          crossRequestWarnings: (run.saturation.crossRequestWarnings ?? 0) + (run.fixed.crossRequestWarnings ?? 0),
        };
      });
    const pick = (k) => per.map((p) => p[k]);
    const total = per.reduce((a, p) => a + p.total, 0);
    const unexpected = per.reduce((a, p) => a + p.unexpected, 0);
    const summary = {
      rps: round(median(pick("rps")), 0),
      ratio: round(median(pick("ratio")), 3),
      ratioRange: minMax(pick("ratio")).map((x) => round(x, 3)),
      vsNaive: round(median(pick("vsNaive")), 2),
      vsAuditOff: round(median(pick("vsAuditOff")), 3),
      vsKvFloor: round(median(pick("vsKvFloor")), 3),
      vsBare: round(median(pick("vsBare")), 3),
      vsBareRange: minMax(pick("vsBare")).map((x) => round(x, 3)),
      bareCpuRatio: round(median(pick("bareCpuRatio")), 2),
      p50: round(median(pick("p50")), 2),
      p99: round(median(pick("p99")), 2),
      fixedP50: round(median(pick("fixedP50")), 2),
      fixedP99: round(median(pick("fixedP99")), 2),
      fixedRps: round(median(pick("fixedRps")), 0),
      fixedP99DeltaMs: round(median(pick("fixedP99DeltaMs")), 2),
      cpuUsPerReq: round(median(pick("cpuUsPerReq")), 0),
      cpuRatio: round(median(pick("cpuRatio")), 2),
      requests: total,
      unexpected,
      statuses: per.reduce((acc, p) => mergeCounts(acc, p.statuses), {}),
      exhausted: per.some((p) => p.exhausted),
      crossRequestWarningsPer1k: total > 0 ? round((per.reduce((a, p) => a + p.crossRequestWarnings, 0) * 1000) / total, 1) : null,
      valid: total > 0 && unexpected / total <= UNEXPECTED_LIMIT && !per.some((p) => p.exhausted),
    };
    return { ...s, summary, rounds: per };
  });

  const byId = Object.fromEntries(perScenario.map((s) => [s.id, s]));
  const targets = TARGETS.map((t) => {
    if (t.notMeasured) {
      return { ...pickTarget(t), status: "NOT MEASURED YET", measured: "not measured yet", value: null };
    }
    const s = byId[t.scenario];
    if ((t.also ?? []).some((id) => !byId[id])) {
      return { ...pickTarget(t), status: "NOT MEASURED YET", measured: `not measured (no ${t.also.filter((id) => !byId[id]).join(", ")} scenario in this run)`, value: null };
    }
    const value = s?.summary[t.metric] ?? null;
    const involved = [t.scenario, "passthrough", ...(t.also ?? [])].map((id) => byId[id]);
    const valid = involved.every((x) => x?.summary.valid);
    const ok = value !== null && (t.op === ">=" ? value >= t.threshold : value <= t.threshold);
    const shown = value === null ? "n/a" : `${t.metric === "fixedP99DeltaMs" && value >= 0 ? "+" : ""}${value}${t.unit}`;
    return { ...pickTarget(t), value, measured: shown, status: !valid ? "INVALID" : ok ? "PASS" : "MISS" };
  });

  targets.push(...sectionTargets({ scale, memory }));
  return { meta, targets, scenarios: perScenario, micro, requestPath, consumer, memory, scale, audit: auditCost(byId), diagnostics };
}

function pickTarget(t) {
  return { id: t.id, name: t.name, ...(t.threshold !== undefined && { threshold: t.threshold, op: t.op }) };
}

function mergeCounts(a = {}, b = {}) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Markdown

const cell = (v, digits) => (v === null || v === undefined ? "–" : typeof v === "number" && digits !== undefined ? v.toFixed(digits) : String(v));

export function renderMarkdown(results) {
  const { meta, targets, scenarios, micro, requestPath = [], consumer, memory, scale, audit: auditCosts, diagnostics } = results;
  const o = meta.options;
  const lines = [];
  lines.push("# Keygate benchmark results", "");
  lines.push("Generated by `npm run bench`" + (o.quick ? " **--quick (smoke run: too short to quote)**" : "") + "; do not edit by hand. Method, reproduction and caveats: [README.md](README.md).", "");
  lines.push("![Throughput vs the bare proxy and p99 latency per scenario](results.svg)", "");
  lines.push("| run | |", "|---|---|");
  lines.push(`| date | ${meta.date} |`);
  lines.push(`| commit | \`${meta.commit}\`${meta.dirty ? " + uncommitted changes" : ""} (${meta.source}) |`);
  lines.push(`| machine | ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGiB} GiB, ${meta.machine.platform} |`);
  lines.push(`| load average (1/5/15 min) | start ${meta.loadAverage.start.join(" / ")}, end ${meta.loadAverage.end.join(" / ")} |`);
  lines.push(`| versions | node ${meta.versions.node}, wrangler ${meta.versions.wrangler}, miniflare ${meta.versions.miniflare}, workerd ${meta.versions.workerd}, autocannon ${meta.versions.autocannon} |`);
  lines.push(
    `| load | ${o.rounds} rounds, scenario order rotated each round; per scenario and round: ${o.saturation.durationS} s at saturation (${o.saturation.connections} connections), then ${o.fixedLoad.durationS} s at a fixed ${o.fixedLoad.ratePerS} req/s (${o.fixedLoad.connections} connections); ${o.warmupS} s warm-up each |`,
  );
  lines.push(`| Worker | ${o.route}; passthrough ${o.publicRoute}; ${o.storage}; KEY_CACHE_TTL_S ${o.keyCacheTtlS} |`);
  lines.push(`| duration | ${meta.durationS} s |`, "");

  lines.push(
    "## Targets",
    "",
    "Ratios are medians over rounds of per-round ratios, each taken against the named peer (the bare proxy, the KV control, the naive D1 Worker, Keygate with audit removed) in the same round. The scale and memory targets come from their own sections below.",
    "",
  );
  lines.push("| target | measured | status |", "|---|---|---|");
  for (const t of targets) lines.push(`| ${t.name} | ${t.measured} | **${t.status}** |`);
  lines.push("");

  lines.push("## Scenarios", "");
  lines.push(
    `Saturation: ${o.saturation.connections} connections as fast as they go. Fixed load: ${o.fixedLoad.ratePerS} req/s, where latency is the Worker's and not a queue's. ` +
      "Latencies count only responses with the expected status (200, or 401 for the rejections). " +
      "workerd CPU is the Worker process's user+system time per request (from /proc), less sensitive to other load than req/s.",
    "",
  );
  lines.push(
    "| scenario | req/s | × bare proxy (min–max) | × passthrough (min–max) | p50 ms | p99 ms | p50 ms @fixed | p99 ms @fixed | Δp99 ms @fixed | workerd CPU µs/req | × bare proxy CPU | × passthrough CPU |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const s of scenarios) {
    const m = s.summary;
    const spread = ([lo, hi]) => (lo === null ? "" : ` (${cell(lo, 2)}–${cell(hi, 2)})`);
    const range = spread(m.ratioRange);
    const flag = m.valid ? "" : ` ⚠ ${m.exhausted ? "key pool exhausted; " : ""}${m.unexpected} of ${m.requests} with other statuses ${JSON.stringify(m.statuses)}`;
    lines.push(
      `| ${s.label}${flag} | ${cell(m.rps)} | ${cell(m.vsBare, 2)}${spread(m.vsBareRange)} | ${cell(m.ratio, 2)}${range} | ${cell(m.p50, 2)} | ${cell(m.p99, 2)} | ${cell(m.fixedP50, 2)} | ${cell(m.fixedP99, 2)} | ${m.fixedP99DeltaMs === null ? "–" : (m.fixedP99DeltaMs >= 0 ? "+" : "") + m.fixedP99DeltaMs.toFixed(2)} | ${cell(m.cpuUsPerReq)} | ${cell(m.bareCpuRatio, 2)} | ${cell(m.cpuRatio, 2)} |`,
    );
  }
  lines.push("");

  lines.push("### Per round (req/s at saturation)", "");
  const roundNumbers = [...new Set(scenarios.flatMap((s) => s.rounds.map((r) => r.round)))];
  lines.push(`| scenario | ${roundNumbers.map((r) => `round ${r}`).join(" | ")} |`, `|---|${roundNumbers.map(() => "---:").join("|")}|`);
  for (const s of scenarios) {
    lines.push(`| ${s.id} | ${roundNumbers.map((n) => cell(s.rounds.find((r) => r.round === n)?.rps, 0)).join(" | ")} |`);
  }
  lines.push("");

  if (micro.length > 0) {
    lines.push("## Micro-benchmarks inside workerd", "");
    lines.push(
      "Each op runs N times per request in a bench-only Worker (`bench/micro/worker.ts`); Node times the round trip and subtracts an empty loop of the same N (workerd's clocks do not move during compute). Best: fastest batch minus fastest empty loop (noise only adds time); median for comparison.",
      "",
    );
    lines.push("| operation | ns/op (best) | ns/op (median) | iterations × reps |", "|---|---:|---:|---:|");
    for (const m of micro) {
      lines.push(`| ${m.describe} (\`${m.op}\`) | ${cell(round(m.nsPerOp, 0))} | ${cell(round(m.medianNsPerOp, 0))} | ${m.iterations} × ${m.reps} |`);
    }
    lines.push("");
  }

  if (requestPath.length > 0) lines.push(...renderRequestPath(requestPath));
  if (auditCosts) lines.push(...renderAuditCost(auditCosts, consumer));
  if (consumer) lines.push(...renderConsumer(consumer));
  if (scale) lines.push(...renderScale(scale));
  if (memory) lines.push(...renderMemory(memory));

  lines.push("## Diagnostics", "");
  const audit = diagnostics?.audit;
  if (audit && typeof audit === "object") {
    lines.push(
      `- Audit: ${audit.auditEventsStored} events in D1 for ${audit.gatewayAndAdminRequests} requests sent to Keygate (${audit.afterWaitMs / 1000} s after the last one). Not a target; a large gap means events were still queued or were lost.`,
    );
  } else {
    lines.push(`- Audit: ${audit ?? "not checked"}`);
  }
  const warned = scenarios.filter((s) => s.summary.crossRequestWarningsPer1k);
  if (warned.length > 0) {
    lines.push(
      `- workerd warned "A promise was resolved or rejected from a different request context … Continuations for that request … have been canceled" per 1,000 requests: ${warned.map((s) => `${s.id} ${s.summary.crossRequestWarningsPer1k}`).join(", ")}.`,
    );
  }
  for (const { message, count } of diagnostics?.runtimeLogs ?? []) lines.push(`- workerd log ×${count}: \`${message.replace(/`/g, "'")}\``);
  lines.push("");
  return lines.join("\n");
}

function renderAuditCost(a, consumer) {
  const lines = ["## Audit: cost per request, and the consumer apart", ""];
  lines.push(
    "From the workerd CPU column of the memory-hit scenarios (each its own workerd, same bundle): audit removed, audit to a no-op queue, and audit through the local queue broker and consumer. " +
      "The producer's cost is what building, coalescing, packing and handing over one event adds to a request. The local queue and consumer run in the gateway's own workerd process here (in production the consumer is another invocation, billed apart), so their cost is shown apart, with the consumer's own CPU per event from its section below.",
    "",
  );
  lines.push("| | workerd CPU µs/request |", "|---|---:|");
  lines.push(`| memory-hit, audit removed | ${cell(a.auditOffCpu)} |`);
  lines.push(`| memory-hit, audit to a no-op queue | ${cell(a.auditSinkCpu)} |`);
  lines.push(`| **producer: event build + coalescing + send, per request** | **${cell(a.producerUsPerReq)}** |`);
  lines.push(`| memory-hit, local queue broker + consumer in the same process | ${cell(a.localPipelineCpu)} |`);
  lines.push(`| local queue broker + consumer writing D1, per request (off the request path in production) | ${cell(a.localQueueAndConsumerUsPerReq)} |`);
  if (consumer?.batched.cpuUsPerEvent != null) lines.push(`| consumer alone, batches of 100 (its own workerd: isolate + local D1 + R2), per event | ${cell(consumer.batched.cpuUsPerEvent)} |`);
  lines.push("");
  return lines;
}

function renderScale(sc) {
  const lines = ["## Scale: cold D1 lookup with more keys in D1", ""];
  const kilo = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
  const pct = (v) => (v === null ? "–" : `${v}%`);
  lines.push(
    `One Keygate instance per size (its own workerd, a fresh local D1: a SQLite file in the page cache), all alive together. After a ${sc.warmupS} s warm-up per size, ${sc.rounds} rounds, each running every size for ${sc.durationS} s at ${sc.rate} req/s (4 connections), in orders that put each size in each place and after each other size equally often (rotations, then rotations of the reverse). ` +
      `Every request reads its key from D1: each size cycles through ${sc.poolKeys} keys of its own, created with Keygate's own \`insertKey\` (so the smallest table holds its size), and cold every time: the instances run with KEY_CACHE_TTL_S=${sc.keyCacheTtlS}, so a key's memory entry has expired before it comes round again, and the seeder deletes the instance's KV entries before each run. So each request is one \`findKeyByHash\` in D1 plus the KV write-back. ` +
      "The rest of the table is filler rows (random ids and 64-hex hashes, real-sized) inserted by one `INSERT … SELECT` over a recursive CTE per 100k rows.",
    "",
    `**Which p99 the target reads.** The sizes are compared within each round, as the scenario ratios above are: each run's p99 ÷ the geometric mean of its round's p99s, and per size the median of those ratios over the ${sc.rounds} rounds ("paired"; in ms: that ratio × the median round level). ` +
      `A round's runs are seconds apart, and on a shared machine the whole tail moves more between rounds than the sizes could differ; the ratio cancels that drift, and the median makes a burst in one run move the figure by one rank. ` +
      `The p99 pooled over all rounds (what this table showed before) lets one disturbed run own a size's tail, and the median of the round p99s alone keeps the drift. ` +
      `Spread (largest ÷ smallest − 1): paired ${pct(sc.spreadPct.paired)} (the target), median of round p99s ${pct(sc.spreadPct.medianRoundP99)}, pooled ${pct(sc.spreadPct.pooledP99)}.`,
    "",
    `findKeyByHash: ${sc.lookupRounds} rounds × ${sc.lookupsPerRound} sequential calls inside the Worker per size (in the same orders, after one unrecorded round): the mean from first to last answer, and the p99 on workerd's clock, which moves in whole ms on each awaited D1 call. Query plan: SQLite's for a lookup by \`key_hash\`. CPU: the workerd process's over all rounds, per request. KV write-backs/req: the entries the seeder deletes after each run ÷ its responses; 1.00 or a little more (requests still in flight when a run stops write back too) shows every request missed memory and KV and read D1 (⚠ marks a size below 0.99, where a pool ran dry or where over 1% of responses were not 200).`,
    "",
  );
  lines.push(
    "| keys in D1 | seeding s | workerd RSS MB | query plan | findKeyByHash µs (mean) | findKeyByHash p99 ms | p50 ms | **p99 ms, paired** | ÷ smallest | p99 ms, median of rounds (min–max) | p99 ms, pooled | workerd CPU µs/req | KV write-backs/req |",
    "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
  );
  for (const x of sc.sizes) {
    lines.push(
      `| ${x.rows.toLocaleString("en-US")}${x.valid ? "" : " ⚠"} | ${cell(x.seedS)} | ${cell(x.rssMb)} | ${x.plan} | ${cell(x.lookupUs)} | ${cell(x.lookupP99Ms)} | ${cell(x.p50, 2)} | ${cell(x.pairedP99, 2)} | ${cell(x.p99VsSmallest, 2)} | ${cell(x.medianRoundP99, 2)} (${x.roundP99Range.map((v) => cell(v, 1)).join("–")}) | ${cell(x.p99, 2)} | ${cell(x.cpuUsPerReq)} | ${cell(x.kvWritesPerRequest, 2)} |`,
    );
  }
  lines.push("", "p99 ms of each run (a round runs every size once, in the order shown):", "", `| round | order | ${sc.sizes.map((x) => kilo(x.size)).join(" | ")} |`, `|---:|---|${sc.sizes.map(() => "---:").join("|")}|`);
  for (let r = 0; r < sc.rounds; r++) lines.push(`| ${r + 1} | ${sc.orders[r].map(kilo).join(", ")} | ${sc.sizes.map((x) => cell(x.roundP99s[r], 1)).join(" | ")} |`);
  lines.push("");
  return lines;
}

function renderMemory(m) {
  const lines = ["## Isolate memory held by cached keys", ""];
  lines.push(
    "Measured inside workerd: a bench-only Worker (`bench/memory/worker.ts`) loads N distinct keys through a `TieredCache` built from the key cache's own options (`keyCache.options`: its schema, `compileKey`), with room for N, each key missing memory and KV and read from its own JSON row, as `resolveCaller` fills the cache. " +
      "The harness reads V8's used heap over the inspector (`Runtime.getHeapUsage`) after a full GC (forced by a heap snapshot: workerd's inspector does not answer `HeapProfiler.collectGarbage`), before and after the fill. " +
      `Keygate's own key cache holds at most ${m.keyCacheMaxEntries?.toLocaleString("en-US") ?? "–"} keys per isolate; 100k shows what a 10× larger bound would cost.`,
    "",
  );
  lines.push("| cached keys | heap held MB | bytes/key | fill ms |", "|---:|---:|---:|---:|");
  for (const x of m.sizes) lines.push(`| ${x.keys.toLocaleString("en-US")} | ${cell(x.mb)} | ${cell(x.bytesPerKey)} | ${cell(x.fillMs)} |`);
  lines.push("");
  return lines;
}

function renderConsumer(c) {
  const m = c.method;
  const fmtInt = (v) => (v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US"));
  const lines = ["## Audit consumer → D1 and the R2 archive", ""];
  lines.push(
    `Events per second written into a fresh local D1 (in-memory SQLite in workerd, \`migrations/*.sql\` applied) by a bench-only Worker (\`bench/consumer/worker.ts\`). ` +
      `**batched**: the real queue handler \`consumeAuditBatch\` on message batches of ${m.messagesPerBatch} messages × 1 event, one batch after the other; each batch is one D1 batch (events staged through \`json_each\`, stored, counted in the minute/hour/scope rollups, plus the \`last_used_at\` update of the ${m.keys} keys the events use), then one gzip NDJSON object in the local R2 archive. ` +
      "**single**: one `INSERT INTO audit_events … VALUES (?, …)` per event, each awaited (no `last_used_at` update). " +
      `${m.rounds} rounds × ${m.eventsPerRun.toLocaleString("en-US")} events per mode, fresh ids, modes alternated; medians over rounds. ` +
      "Wall: Node's clock around the HTTP call that writes (events are built by an earlier call). Worker: workerd's clock from the first write to the last write's answer. " +
      "Stored bytes: D1's `size_after` (pages, so rounded) before and after, per event, indexes and rollups included; R2: the archive objects' sizes.",
    "",
  );
  lines.push("| mode | events/s (wall) | min–max over rounds | events/s (Worker) | D1 bytes/event | R2 bytes/event | workerd CPU µs/event |", "|---|---:|---:|---:|---:|---:|---:|");
  for (const [mode, label] of [["batched", `batches of ${m.messagesPerBatch} (consumeAuditBatch)`], ["single", "one INSERT per event"]]) {
    const x = c[mode];
    lines.push(`| ${label} | ${fmtInt(x.eventsPerS)} | ${fmtInt(x.eventsPerSRange[0])}–${fmtInt(x.eventsPerSRange[1])} | ${fmtInt(x.workerEventsPerS)} | ${fmtInt(x.bytesPerEvent)} | ${fmtInt(x.archiveBytesPerEvent)} | ${cell(x.cpuUsPerEvent)} |`);
  }
  lines.push(`| **ratio batched / single** | **${cell(c.ratio)}×** | ${cell(c.ratioRange[0])}–${cell(c.ratioRange[1])}× | ${cell(c.workerRatio)}× | | | |`, "");
  lines.push(`Keys with \`last_used_at\` set after the batched runs: ${c.keysTouched ?? "–"} of ${m.keys}.`, "");
  return lines;
}

// ---------------------------------------------------------------------------------------------
// SVG: two panels of horizontal bars, throughput ratio and p99 at fixed load.

const COLORS = { keygate: "#2563eb", reject: "#ea580c", peer: "#6b7280" };

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function renderSvg(results) {
  const { meta, scenarios } = results;
  const o = meta.options;
  const rowH = 30;
  const top = 100;
  const labelW = 370;
  const panelW = 300;
  const gap = 70;
  const width = labelW + panelW * 2 + gap + 40;
  const height = top + scenarios.length * rowH + 64;
  const x1 = labelW;
  const x2 = labelW + panelW + gap;

  // Bars against the bare proxy (the physical limit) when the run has it, else against passthrough.
  const vsBare = scenarios.some((s) => s.summary.vsBare !== null);
  const base = vsBare ? "bare proxy" : "passthrough";
  const ratioOf = (m) => (vsBare ? m.vsBare : m.ratio);
  const rangeOf = (m) => (vsBare ? m.vsBareRange : m.ratioRange);
  const ratios = scenarios.map((s) => ratioOf(s.summary) ?? 0);
  const maxRatio = Math.max(1.2, ...ratios, ...scenarios.map((s) => rangeOf(s.summary)[1] ?? 0)) * 1.05;
  const p99s = scenarios.map((s) => s.summary.fixedP99 ?? 0);
  const maxP99 = Math.max(1, ...p99s) * 1.1;
  const sx = (v) => (v / maxRatio) * panelW;
  const sy = (v) => (v / maxP99) * panelW;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="600">Keygate: cost of auth at the edge (local workerd)${o.quick ? " — QUICK SMOKE RUN" : ""}</text>`);
  out.push(
    `<text x="16" y="44" fill="#374151">${esc(`${meta.date.slice(0, 10)} · commit ${meta.commit}${meta.dirty ? "+dirty" : ""} · ${meta.machine.cpu}, ${meta.machine.cores} cores · node ${meta.versions.node} · wrangler ${meta.versions.wrangler} · ${o.rounds} rounds (medians)`)}</text>`,
  );
  out.push(`<text x="${x1}" y="${top - 26}" font-weight="600">Throughput vs ${base} (×, ${o.saturation.connections} connections)</text>`);
  out.push(`<text x="${x2}" y="${top - 26}" font-weight="600">p99 latency at ${o.fixedLoad.ratePerS} req/s (ms)</text>`);

  // Reference lines: 1.0× and passthrough's p99 (labels below), the targets (labels above).
  const bottom = top + scenarios.length * rowH;
  const ref = (x, label, { dash = "", color = "#111827", above = false, anchor = "middle" } = {}) => {
    out.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="${color}" stroke-width="1" ${dash ? `stroke-dasharray="${dash}"` : ""}/>`);
    const dx = anchor === "end" ? -2 : anchor === "start" ? 2 : 0;
    out.push(`<text x="${(x + dx).toFixed(1)}" y="${above ? top - 7 : bottom + 14}" text-anchor="${anchor}" fill="${color}" font-size="10">${esc(label)}</text>`);
  };
  ref(x1 + sx(1), `1.0× ${base}`);
  ref(x1 + sx(0.9), "0.9", { dash: "3,3", color: "#16a34a", above: true, anchor: "start" });
  ref(x1 + sx(0.85), "0.85", { dash: "3,3", color: "#ca8a04", above: true, anchor: "end" });
  const passP99 = scenarios.find((s) => s.id === "passthrough")?.summary.fixedP99;
  if (passP99) {
    ref(x2 + sy(passP99), `passthrough ${passP99.toFixed(2)} ms`);
    if (passP99 + 1 <= maxP99) ref(x2 + sy(passP99 + 1), "+1 ms", { dash: "3,3", color: "#16a34a", above: true, anchor: "start" });
  }

  // A value label sits after its bar, or inside it when the bar nearly fills the panel.
  const valueLabel = (x, w, y, text) =>
    w > panelW - 120
      ? `<text x="${(x + w - 4).toFixed(1)}" y="${y}" text-anchor="end" fill="#ffffff">${esc(text)}</text>`
      : `<text x="${(x + w + 4).toFixed(1)}" y="${y}" fill="#111827">${esc(text)}</text>`;

  scenarios.forEach((s, i) => {
    const y = top + i * rowH;
    const m = s.summary;
    const color = COLORS[s.group] ?? COLORS.keygate;
    out.push(`<text x="${labelW - 10}" y="${y + 16}" text-anchor="end" fill="${m.valid ? "#111827" : "#b91c1c"}">${esc(s.label)}${m.valid ? "" : " ⚠"}</text>`);
    const ratio = ratioOf(m);
    const range = rangeOf(m);
    const rw = Math.max(1, sx(ratio ?? 0));
    out.push(`<rect x="${x1}" y="${y + 5}" width="${rw.toFixed(1)}" height="${rowH - 14}" fill="${color}" rx="2"/>`);
    // min–max over rounds, a whisker under the bar.
    let labelStart = rw;
    if (range[0] !== null) {
      const a = sx(range[0]);
      const b = sx(range[1]);
      const wy = y + rowH - 5;
      out.push(`<line x1="${(x1 + a).toFixed(1)}" y1="${wy}" x2="${(x1 + b).toFixed(1)}" y2="${wy}" stroke="#111827" stroke-width="1.5"/>`);
      for (const end of [a, b]) out.push(`<line x1="${(x1 + end).toFixed(1)}" y1="${wy - 3}" x2="${(x1 + end).toFixed(1)}" y2="${wy + 2}" stroke="#111827" stroke-width="1.5"/>`);
      labelStart = Math.max(rw, b);
    }
    out.push(
      rw > panelW - 120
        ? valueLabel(x1, rw, y + 16, ratio === null ? "–" : `${ratio.toFixed(2)}× · ${m.rps}/s`)
        : `<text x="${(x1 + labelStart + 4).toFixed(1)}" y="${y + 16}" fill="#111827">${esc(ratio === null ? "–" : `${ratio.toFixed(2)}× · ${m.rps}/s`)}</text>`,
    );
    const pw = Math.max(1, sy(m.fixedP99 ?? 0));
    out.push(`<rect x="${x2}" y="${y + 5}" width="${pw.toFixed(1)}" height="${rowH - 14}" fill="${color}" opacity="0.85" rx="2"/>`);
    out.push(valueLabel(x2, pw, y + 16, m.fixedP99 === null ? "–" : m.fixedP99.toFixed(2)));
  });

  const ly = height - 22;
  const legend = [
    ["keygate", "Keygate, allowed"],
    ["reject", "Keygate, 401"],
    ["peer", "peer Workers"],
  ];
  legend.forEach(([k, label], i) => {
    const lx = 16 + i * 150;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[k]}" rx="2"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}">${esc(label)}</text>`);
  });
  out.push(`<text x="${16 + legend.length * 150}" y="${ly}" fill="#6b7280">black whisker: min–max over rounds · dashed: targets</text>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

function renderRequestPath(requestPath) {
  const bare = requestPath.find((r) => r.op === "request-bare-proxy");
  const lines = ["## The request path in process", ""];
  lines.push(
    "Whole requests through Keygate's Worker (`app.fetch`) inside the micro Worker, with an origin and a Queue that answer at once (`bench/micro/request-path.ts`), in groups of 20 whose audit batch is awaited before the next. Counted by V8's sampling profiler (each sample one interval, idle waits left out): the isolate's JavaScript and the native calls it makes, without sockets, HTTP parsing and subrequests. The bare-proxy row does bench/peers/bare-proxy.ts's work against the same stub. Median of the runs; the functions are the median run's largest self times.",
    "",
    "| requests | CPU µs/request | beyond the bare proxy | largest self times (µs/request) |",
    "|---|---:|---:|---|",
  );
  for (const r of requestPath) {
    const beyond = bare && r !== bare ? `+${round(r.usPerRequest - bare.usPerRequest, 1)}` : "";
    const top = r.top.slice(0, 8).map((f) => `${f.name} ${round(f.usPerRequest, 1)}`).join("; ");
    lines.push(`| ${r.describe} (\`${r.op}\`) | ${round(r.usPerRequest, 1)} | ${beyond} | ${top} |`);
  }
  lines.push("");
  return lines;
}
