#!/usr/bin/env node
// `npm run bench`: Keygate's latency and throughput cost, measured in one run against a passthrough
// ceiling and two peers, plus micro-benchmarks of the hot-path helpers inside workerd.
// See bench/README.md for the method. Everything listens on and sends to 127.0.0.1 only, every
// loop is bounded in count and time, and every process started here is stopped on the way out.
import { execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildWorker, patchAuditOff } from "./lib/build.mjs";
import { applyMigrations, readWranglerConfig, startKeygate, startSingle } from "./lib/instances.mjs";
import { runLoad } from "./lib/load.mjs";
import { runConsumer } from "./lib/consumer.mjs";
import { measureCacheMemory } from "./lib/memory.mjs";
import { checkScaleOptions, runScale } from "./lib/scale.mjs";
import { runMicro } from "./lib/micro.mjs";
import { runRequestPath } from "./lib/request-path.mjs";
import { childPids } from "./lib/proc.mjs";
import { inspectorTarget, profileDuring, summarizeProfile } from "./lib/profile.mjs";
import { renderMarkdown, renderSvg, summarize } from "./lib/report.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, "..");
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    "fixed-duration": { type: "string" },
    rate: { type: "string" },
    connections: { type: "string" },
    "fixed-connections": { type: "string" },
    persist: { type: "boolean", default: false },
    ref: { type: "string" },
    "no-micro": { type: "boolean", default: false },
    "no-consumer": { type: "boolean", default: false },
    "consumer-events": { type: "string" },
    "no-scale": { type: "boolean", default: false },
    "scale-sizes": { type: "string" },
    "scale-rounds": { type: "string" },
    "no-memory": { type: "boolean", default: false },
    scenarios: { type: "string" },
    profile: { type: "boolean", default: false },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`usage: npm run bench -- [--quick] [--rounds N] [--duration S] [--fixed-duration S] [--rate R]
       [--connections C] [--fixed-connections C] [--persist] [--ref GIT_REF] [--no-micro]
       [--no-consumer] [--consumer-events N] [--out DIR]
  --quick      ~1 minute smoke run (1 round, short runs); writes to bench/.tmp/quick unless --out
  --ref        bench a committed tree (git archive) instead of the working tree
  --persist    keep local D1/KV on disk (like wrangler dev) instead of in memory
  --profile    instead of the rounds: V8 CPU profiles of Keygate per scenario, in bench/.tmp/profile
  --consumer-events  events per run of the audit consumer → D1 section (default 5000, 1000 with --quick)
  --no-scale   skip the scale figures (cold D1 lookup with 1k / 100k / 1M keys)
  --scale-sizes  comma-separated key counts for the scale figures (default 1000,100000,1000000; --quick 1000,100000)
  --scale-rounds rounds of the scale figures, each size once per round (default 12; --quick 4)
  --no-memory  skip the isolate memory held by cached keys
  --scenarios  comma-separated scenario ids to run (e.g. peer-bare-proxy,passthrough,memory-hit), for iterating`);
  process.exit(0);
}

const quick = args.quick;
const num = (value, fallback) => (value === undefined ? fallback : Number(value));
const opts = {
  quick,
  rounds: num(args.rounds, quick ? 1 : 4),
  durationS: num(args.duration, quick ? 1.5 : 3.5),
  fixedDurationS: num(args["fixed-duration"], quick ? 1.5 : 3),
  warmupS: quick ? 0.5 : 1.5,
  rate: num(args.rate, 100),
  connections: num(args.connections, 10),
  fixedConnections: num(args["fixed-connections"], 4),
  persist: args.persist,
  ref: args.ref,
  micro: !args["no-micro"] && !args.profile,
  profile: args.profile,
  microReps: quick ? 3 : 5,
  microTargetMs: quick ? 40 : 150,
  consumer: !args["no-consumer"] && !args.profile,
  consumerRounds: quick ? 2 : 3,
  consumerEvents: num(args["consumer-events"], quick ? 1000 : 5000),
  scale: !args["no-scale"] && !args.profile,
  scaleSizes: (args["scale-sizes"] ?? (quick ? "1000,100000" : "1000,100000,1000000")).split(",").map(Number),
  // Many short rounds, sizes rotated: the target compares the sizes' p99s within each round.
  scaleRounds: num(args["scale-rounds"], quick ? 4 : 12),
  scaleDurationS: quick ? 1.5 : 2,
  scaleWarmupS: quick ? 1 : 2,
  // Keys each size's load cycles through (cold each time: see bench/lib/scale.mjs), fewer than the
  // smallest size's rows, so the 1k table holds 1,000 rows.
  scalePoolKeys: 900,
  scaleKeyCacheTtlS: 1,
  scaleLookupRounds: quick ? 2 : 8,
  scaleLookupsPerRound: 250,
  // Seeding one size may take this long at most (1M rows take ~30 s on a quiet machine).
  scaleSeedDeadlineS: 240,
  memory: !args["no-memory"] && !args.profile,
  memorySizes: [10_000, 100_000],
  out: resolve(args.out ?? (quick ? join(BENCH_DIR, ".tmp", "quick") : BENCH_DIR)),
  // Hard stop for the whole run, whatever happens.
  watchdogMin: quick ? 8 : 25,
};
for (const [name, value] of Object.entries(opts)) {
  if (typeof value === "number" && !(Number.isFinite(value) && value > 0)) fail(`--${name}: expected a positive number`);
}
if (opts.scaleSizes.length === 0 || opts.scaleSizes.some((n) => !Number.isInteger(n) || n < 1000 || n > 2_000_000)) fail("--scale-sizes: integers from 1000 to 2000000");
if (opts.consumerEvents > 100_000 || !Number.isInteger(opts.consumerEvents)) fail("--consumer-events: an integer ≤ 100000");
if (opts.scaleRounds > 60 || !Number.isInteger(opts.scaleRounds)) fail("--scale-rounds: an integer ≤ 60");
const scaleOptions = {
  sizes: opts.scaleSizes,
  rounds: opts.scaleRounds,
  durationS: opts.scaleDurationS,
  rate: opts.rate,
  warmupS: opts.scaleWarmupS,
  poolKeys: opts.scalePoolKeys,
  keyCacheTtlS: opts.scaleKeyCacheTtlS,
  lookupRounds: opts.scaleLookupRounds,
  lookupsPerRound: opts.scaleLookupsPerRound,
  seedDeadlineS: opts.scaleSeedDeadlineS,
};
if (opts.scale) {
  try {
    checkScaleOptions(scaleOptions);
  } catch (error) {
    fail(`${error.message}: lower --rate, or --no-scale`);
  }
}
if (opts.rounds > 20 || opts.durationS > 60 || opts.fixedDurationS > 60) fail("rounds ≤ 20 and durations ≤ 60 s keep a run bounded");

// ---------------------------------------------------------------------------------------------
// Cleanup: every process and instance registers how to stop it.

const cleanups = [];
let cleaningUp = false;

async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  while (cleanups.length > 0) {
    const { name, stop } = cleanups.pop();
    try {
      await Promise.race([stop(), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 15_000))]);
    } catch (error) {
      console.error(`cleanup ${name}: ${error?.message ?? error}`);
    }
  }
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

async function abort(reason, code = 1) {
  console.error(`\nbench: ${reason}`);
  await cleanup();
  process.exit(code);
}

process.on("SIGINT", () => abort("interrupted", 130));
process.on("SIGTERM", () => abort("terminated", 143));
process.on("unhandledRejection", (error) => abort(`unhandled rejection: ${error?.stack ?? error}`));
const watchdog = setTimeout(() => abort(`watchdog: the run exceeded ${opts.watchdogMin} minutes`), opts.watchdogMin * 60_000);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Helpers

const t0 = performance.now();
function log(message) {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[${s}s] ${message}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// workerd's log lines, counted per instance and message; each distinct warning or error is printed
// once, so a message repeated per request cannot flood the terminal or slow the run.
const CROSS_REQUEST = "different request context";
const runtimeLogs = new Map();
let crossRequestWarnings = 0;
function onLog(instance, entry) {
  const message = String(entry.message ?? "");
  if (message.includes(CROSS_REQUEST)) crossRequestWarnings++;
  const key = `${instance} ${entry.level}: ${message.split("\n")[0].slice(0, 200)}`;
  const count = (runtimeLogs.get(key) ?? 0) + 1;
  runtimeLogs.set(key, count);
  if (count === 1 && (entry.level === "error" || entry.level === "warn" || process.env.BENCH_VERBOSE)) {
    console.error(`[workerd ${instance}] ${entry.level}: ${message.slice(0, 2000)} (further repeats counted, not shown)`);
  }
}

function git(...gitArgs) {
  return execFileSync("git", gitArgs, { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

function versionOf(pkg, from = require) {
  try {
    return from(`${pkg}/package.json`).version;
  } catch {
    return "unknown";
  }
}

async function fetchJson(url, init = {}) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

async function expectJson(what, url, init, status) {
  const r = await fetchJson(url, init);
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const runDir = join(BENCH_DIR, ".tmp", `run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  cleanups.push({ name: "temp dir", stop: async () => rmSync(runDir, { recursive: true, force: true }) });

  // Source: the working tree, or a committed tree extracted with git archive.
  let root = REPO;
  let commit = git("rev-parse", "--short", "HEAD");
  let dirty = git("status", "--porcelain", "--", "src", "policy.json", "wrangler.toml", "migrations") !== "";
  if (opts.ref) {
    commit = git("rev-parse", "--short", opts.ref);
    dirty = false;
    root = join(runDir, "tree");
    mkdirSync(root, { recursive: true });
    execFileSync("sh", ["-c", `git archive ${commit} | tar -x -C "${root}"`], { cwd: REPO });
    // The bench's own Workers import ../../src, so they are copied in beside that tree.
    mkdirSync(join(root, "bench"), { recursive: true });
    for (const dir of ["seed", "micro", "memory", "peers", "consumer"]) {
      rmSync(join(root, "bench", dir), { recursive: true, force: true });
      execFileSync("cp", ["-r", join(BENCH_DIR, dir), join(root, "bench")]);
    }
  }
  log(`source: ${opts.ref ? `git ${opts.ref} (${commit})` : `working tree at ${commit}${dirty ? " + uncommitted changes" : ""}`}`);

  // 1. Bundle every Worker with wrangler (two at a time: the machine has two cores).
  const build = (entry, name) => buildWorker({ root, entry, outdir: join(runDir, "build", name) });
  const [keygateScript, seedScript] = await Promise.all([build("src/index.ts", "keygate"), build("bench/seed/worker.ts", "seed")]);
  const [honoScript, naiveScript] = await Promise.all([build("bench/peers/hono-bearer.ts", "hono"), build("bench/peers/naive-d1.ts", "naive")]);
  const [kvFloorScript, queueSinkScript] = await Promise.all([build("bench/peers/kv-floor.ts", "kv-floor"), build("bench/peers/queue-sink.ts", "queue-sink")]);
  const bareScript = await build("bench/peers/bare-proxy.ts", "bare-proxy");
  const [microScript, consumerScript] = await Promise.all([
    opts.micro ? build("bench/micro/worker.ts", "micro") : undefined,
    opts.consumer ? build("bench/consumer/worker.ts", "consumer") : undefined,
  ]);
  const memoryScript = opts.memory ? await build("bench/memory/worker.ts", "memory") : undefined;
  const auditOffScript = patchAuditOff(keygateScript, join(runDir, "build", "keygate-audit-off", "index.js"));
  log(`bundled keygate${auditOffScript ? " (+ audit-off variant)" : ""}, seeder, peers, KV control${opts.micro ? ", micro" : ""}${opts.consumer ? ", consumer" : ""}`);
  if (!auditOffScript) log("no auditRequests() in the bundle: audit on/off will be reported as not measured");

  // 2. The origin: its own process, so it does not share the load generator's event loop.
  const origin = fork(join(BENCH_DIR, "lib", "origin.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  cleanups.push({ name: "origin", stop: async () => origin.exitCode === null && origin.kill("SIGTERM") });
  const originPort = await Promise.race([
    new Promise((r) => origin.once("message", (m) => r(m.port))),
    sleep(15_000).then(() => Promise.reject(new Error("origin did not start"))),
  ]);
  const originUrl = `http://127.0.0.1:${originPort}`;
  log(`origin on ${originUrl}`);

  // 3. Keygate in workerd, with fresh local D1 and KV. Its audit Queue is a no-op stub, so every
  // scenario measures the request path alone: the local queue broker and consumer (D1 writes) would
  // run in this same workerd process and take CPU that production spends in another invocation.
  // One more instance below measures the full local pipeline, for information.
  const config = readWranglerConfig(root);
  const adminToken = randomBytes(24).toString("hex");
  const pidsBefore = childPids("workerd");
  const keygate = await startKeygate({
    config,
    script: keygateScript,
    seedScript,
    queueSinkScript,
    persistDir: opts.persist ? join(runDir, "state-keygate") : undefined,
    vars: { ORIGIN_URL: originUrl, ADMIN_TOKEN: adminToken },
    kvFloorScript,
    onLog,
    inspector: opts.profile,
  });
  cleanups.push({ name: "keygate", stop: () => keygate.mf.dispose() });
  const keygatePid = [...childPids("workerd")].find((p) => !pidsBefore.has(p));
  const migrations = await applyMigrations(keygate.mf, Object.keys(config.d1)[0], config.migrationsDir, "keygate");
  // Under --profile, the control is profiled in its own isolate of Keygate's instance.
  const kvFloor = { url: await keygate.mf.unsafeGetDirectURL("kv-floor"), mf: keygate.mf, script: kvFloorScript, inspectorName: "kv-floor" };
  log(`keygate on ${keygate.url.href} (workerd pid ${keygatePid ?? "?"}), migrations: ${migrations.join(", ")}`);

  // 4. Keys, through the admin API: an org and the template key the pools copy.
  const ROUTE = "/api/v1/stories"; // policy.json: GET, scopes ["stories:read"], project "origin"
  const PUBLIC = "/public/bench"; // policy.json: GET /public/*, public
  // policy.json: the demo MCP route; list_stories needs stories:read, which the template key holds.
  const MCP = "/api/v1/mcp";
  const MCP_CALL = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_stories", arguments: { limit: 10 } } });
  const { org, key: k0 } = await createOrgAndKey(keygate.url, adminToken, ROUTE);
  // A limit no run reaches, so every request takes the exact tier's Durable Object round trip.
  const { key: limitedKey } = await createOrgAndKey(keygate.url, adminToken, ROUTE, {
    rate_limits: [{ name: "bench", limit: 1_000_000, window_s: 60, tier: "exact" }],
  });

  const seeder = await keygate.mf.getWorker("bench-seed");
  const seed = async (path, body) => {
    const response = await seeder.fetch(`http://seed${path}`, { method: "POST", body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw Object.assign(new Error(`seeder ${path}: ${response.status} ${text}`), { status: response.status });
    return JSON.parse(text);
  };

  // KV-only keys: a KV entry each and no D1 row, so a 200 proves a KV hit. Entries carry the
  // current time as `cachedAt`, as the gateway writes them, and the gateway serves them for
  // KEY_CACHE_TTL_S; so each run gets entries written just before it.
  const kvTtlMs = Number(config.vars.KEY_CACHE_TTL_S ?? 60) * 1000;
  let kvTemplate;
  for (let attempt = 0; !kvTemplate; attempt++) {
    try {
      kvTemplate = (await seed("/kv", { template_key: k0.key, count: 1 })).template;
    } catch (error) {
      if (error.status !== 409 || attempt >= 20) throw error;
      await sleep(250); // the gateway's KV write is still in waitUntil
    }
  }
  const writeKv = async (count) => {
    const keys = [];
    let cachedAt = Infinity;
    while (keys.length < count) {
      const batch = await seed("/kv", { template: kvTemplate, count: Math.min(20_000, count - keys.length) });
      keys.push(...batch.keys);
      cachedAt = Math.min(cachedAt, batch.cachedAt);
    }
    return { keys, cachedAt };
  };
  await expectJson("KV control setup", new URL("/__bench/prefix", kvFloor.url), { method: "POST", body: kvTemplate.prefix }, 204);
  // kv-hit: every request a key this isolate has never seen (a certain memory miss).
  let kvPool = [];
  let kvNext = 0;
  // peer-kv-floor: no memory cache at all, so it cycles through a set of entries kept fresh.
  let floorPool = { keys: [], cachedAt: 0 };
  let floorNext = 0;

  // D1-only keys, each used once: memory and KV cold.
  const d1Pool = [];
  let d1Next = 0;
  const topUpD1 = async (needed) => {
    while (d1Pool.length - d1Next < needed) {
      const count = Math.min(10_000, needed - (d1Pool.length - d1Next) + 200);
      d1Pool.push(...(await seed("/keys", { template_id: k0.id, count })).keys);
    }
  };
  await topUpD1(quick ? 1500 : 4000);
  const [unknownKey] = (await seed("/generate", { count: 1 })).keys;
  const lastChar = k0.key.at(-1);
  const badChecksumKey = k0.key.slice(0, -1) + (lastChar === "A" ? "B" : "A");
  log(`keys: template ${k0.key_prefix}…, ${d1Pool.length} D1-only (KV-only keys are written before each run)`);

  // 5. Peers, each in its own workerd.
  const bearerToken = randomBytes(24).toString("hex");
  let pids = childPids("workerd");
  const hono = await startSingle({ name: "hono-bearer", config, script: honoScript, bindings: { ORIGIN_URL: originUrl, BEARER_TOKEN: bearerToken }, onLog });
  cleanups.push({ name: "hono-bearer", stop: () => hono.mf.dispose() });
  const honoPid = [...childPids("workerd")].find((p) => !pids.has(p));

  pids = childPids("workerd");
  const bare = await startSingle({ name: "bare-proxy", config, script: bareScript, bindings: { ORIGIN_URL: originUrl }, onLog, inspector: opts.profile });
  cleanups.push({ name: "bare-proxy", stop: () => bare.mf.dispose() });
  const barePid = [...childPids("workerd")].find((p) => !pids.has(p));

  pids = childPids("workerd");
  const naive = await startSingle({
    name: "naive-d1",
    config,
    script: naiveScript,
    bindings: { ORIGIN_URL: originUrl },
    d1: { DB: "naive-d1" },
    persistDir: opts.persist ? join(runDir, "state-naive") : undefined,
    onLog,
    inspector: opts.profile,
  });
  cleanups.push({ name: "naive-d1", stop: () => naive.mf.dispose() });
  const naivePid = [...childPids("workerd")].find((p) => !pids.has(p));
  await applyMigrations(naive.mf, "DB", config.migrationsDir, "naive-d1");
  await copyRows(keygate.mf, naive.mf, k0.id, org.id);
  log(`peers: bare proxy on ${bare.url.href}, hono-bearer on ${hono.url.href}, naive-d1 on ${naive.url.href}, KV control on ${kvFloor.url.href}`);

  // Keygate again, from the same bundle less its audit middleware: the audit on/off comparison.
  let auditOff;
  if (auditOffScript) {
    pids = childPids("workerd");
    const instance = await startKeygate({
      name: "keygate-audit-off",
      config,
      script: auditOffScript,
      seedScript,
      queueSinkScript,
      persistDir: opts.persist ? join(runDir, "state-audit-off") : undefined,
      vars: { ORIGIN_URL: originUrl, ADMIN_TOKEN: adminToken },
      onLog,
      inspector: opts.profile,
    });
    cleanups.push({ name: "keygate-audit-off", stop: () => instance.mf.dispose() });
    const pid = [...childPids("workerd")].find((p) => !pids.has(p));
    await applyMigrations(instance.mf, Object.keys(config.d1)[0], config.migrationsDir, "keygate");
    const { key } = await createOrgAndKey(instance.url, adminToken, ROUTE);
    auditOff = { ...instance, pid, key, script: auditOffScript };
    log(`keygate with audit removed on ${instance.url.href}`);
  }

  // And once more with wrangler.toml's local Queue and its consumer writing D1 in the same workerd
  // process: the full local pipeline, for information, and the audit diagnostics (events stored
  // vs requests sent).
  let localQueue;
  let localQueueRequests = 3; // createOrgAndKey: two admin changes and one gateway request
  if (Object.keys(config.queueProducers).length > 0) {
    pids = childPids("workerd");
    const instance = await startKeygate({
      name: "keygate-local-queue",
      config,
      script: keygateScript,
      seedScript,
      persistDir: opts.persist ? join(runDir, "state-local-queue") : undefined,
      vars: { ORIGIN_URL: originUrl, ADMIN_TOKEN: adminToken },
      onLog,
      inspector: opts.profile,
    });
    cleanups.push({ name: "keygate-local-queue", stop: () => instance.mf.dispose() });
    const pid = [...childPids("workerd")].find((p) => !pids.has(p));
    await applyMigrations(instance.mf, Object.keys(config.d1)[0], config.migrationsDir, "keygate");
    const { key } = await createOrgAndKey(instance.url, adminToken, ROUTE);
    localQueue = { ...instance, pid, key, script: keygateScript };
    log(`keygate with the local queue and consumer on ${instance.url.href}`);
  }

  // 6. Scenarios.
  const scenarios = [
    {
      id: "peer-bare-proxy",
      label: "Peer: bare proxy (copy headers, fetch the origin, return): the physical limit",
      group: "peer",
      target: { ...bare, script: bareScript, inspectorName: "bare-proxy" },
      pid: barePid,
      path: PUBLIC,
      expect: 200,
      headers: () => ({}),
    },
    { id: "passthrough", label: "Passthrough: public route, no auth (ceiling)", group: "keygate", target: keygate, pid: keygatePid, path: PUBLIC, expect: 200, headers: () => ({}) },
    { id: "memory-hit", label: "API key, memory-cache hit", group: "keygate", target: keygate, pid: keygatePid, path: ROUTE, expect: 200, headers: () => ({ "x-api-key": k0.key }) },
    { id: "limited-exact", label: "API key, memory-cache hit, exact rate limit (Durable Object)", group: "keygate", target: keygate, pid: keygatePid, path: ROUTE, expect: 200, headers: () => ({ "x-api-key": limitedKey.key }) },
    {
      id: "mcp-tools-call",
      label: "MCP tools/call, API key, memory-cache hit (per-message check)",
      group: "keygate",
      target: keygate,
      pid: keygatePid,
      path: MCP,
      method: "POST",
      body: MCP_CALL,
      expect: 200,
      headers: () => ({ "x-api-key": k0.key, "content-type": "application/json", accept: "application/json, text/event-stream" }),
    },
    {
      id: "kv-hit",
      label: "API key, KV hit, memory cold (new key each request)",
      group: "keygate",
      target: keygate,
      pid: keygatePid,
      path: ROUTE,
      expect: 200,
      pool: "kv",
      headers: () => (kvNext < kvPool.length ? { "x-api-key": kvPool[kvNext++] } : null),
    },
    {
      id: "peer-kv-floor",
      label: "Control: SHA-256 + one KV get + forward, same KV",
      group: "peer",
      target: kvFloor,
      pid: keygatePid,
      path: ROUTE,
      expect: 200,
      pool: "kv-floor",
      headers: () => ({ "x-api-key": floorPool.keys[floorNext++ % floorPool.keys.length] }),
    },
    {
      id: "d1-cold",
      label: "API key, D1 read (memory and KV cold)",
      group: "keygate",
      target: keygate,
      pid: keygatePid,
      path: ROUTE,
      expect: 200,
      pool: "d1",
      headers: () => (d1Next < d1Pool.length ? { "x-api-key": d1Pool[d1Next++] } : null),
    },
    { id: "invalid-checksum", label: "Invalid checksum (401 before any I/O)", group: "reject", target: keygate, pid: keygatePid, path: ROUTE, expect: 401, headers: () => ({ "x-api-key": badChecksumKey }) },
    { id: "unknown-key", label: "Unknown well-formed key (401, negative cache)", group: "reject", target: keygate, pid: keygatePid, path: ROUTE, expect: 401, headers: () => ({ "x-api-key": unknownKey }) },
    ...(auditOff
      ? [
          {
            id: "memory-hit-audit-off",
            label: "API key, memory-cache hit, audit removed",
            group: "keygate",
            target: auditOff,
            pid: auditOff.pid,
            path: ROUTE,
            expect: 200,
            headers: () => ({ "x-api-key": auditOff.key.key }),
          },
        ]
      : []),
    ...(localQueue
      ? [
          {
            id: "memory-hit-local-queue",
            label: "API key, memory-cache hit, audit through the local queue and consumer (same process)",
            group: "keygate",
            target: localQueue,
            pid: localQueue.pid,
            path: ROUTE,
            expect: 200,
            headers: () => ({ "x-api-key": localQueue.key.key }),
          },
        ]
      : []),
    { id: "peer-hono-bearer", label: "Peer: Hono bearerAuth, one fixed token", group: "peer", target: hono, pid: honoPid, path: ROUTE, expect: 200, headers: () => ({ authorization: `Bearer ${bearerToken}` }) },
    { id: "peer-naive-d1", label: "Peer: naive Worker, D1 query per request", group: "peer", target: { ...naive, script: naiveScript, inspectorName: "naive-d1" }, pid: naivePid, path: ROUTE, expect: 200, headers: () => ({ "x-api-key": k0.key }) },
  ];

  if (args.scenarios) {
    const wanted = new Set(args.scenarios.split(","));
    const unknown = [...wanted].filter((id) => !scenarios.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`--scenarios: no scenario ${unknown.join(", ")} (have ${scenarios.map((s) => s.id).join(", ")})`);
    scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => wanted.has(s.id)));
  }

  // Keys each run needs, written just before it: KV entries must be fresh, and each kv-hit and
  // d1-cold request uses a key of its own. Rates are guesses until a run measures them.
  const rates = { kv: 1000, d1: 1000 };
  const prepare = async (s, saturationS, fixedS) => {
    const started = performance.now();
    // Twice the fastest rate seen so far: a pool that runs dry invalidates the run.
    const needed = () => Math.ceil(rates[s.pool] * saturationS * 2 + opts.rate * fixedS * 1.3) + 300;
    if (s.pool === "kv") {
      ({ keys: kvPool } = await writeKv(needed()));
      kvNext = 0;
    } else if (s.pool === "kv-floor") {
      if (Date.now() + (saturationS + fixedS) * 1000 + 5_000 >= floorPool.cachedAt + kvTtlMs) floorPool = await writeKv(2_000);
    } else if (s.pool === "d1") {
      await topUpD1(needed());
    }
    return performance.now() - started;
  };

  // Sanity: one request each, with the expected status and, for 200s, the origin's own body.
  for (const s of scenarios) {
    await prepare(s, 0.1, 0);
    const headers = s.headers();
    const r = await fetchJson(new URL(s.path, s.target.url), { headers, method: s.method, body: s.body });
    if (s.target === localQueue) localQueueRequests++;
    const fromOrigin = r.status !== 200 || r.body?.origin === "bench";
    if (r.status !== s.expect || !fromOrigin) {
      const hint = s.id === "kv-hit" ? " (KV-only keys are not served from KV: see bench/seed/worker.ts)" : "";
      throw new Error(`sanity ${s.id}: expected ${s.expect} from the origin, got ${r.status} ${JSON.stringify(r.body).slice(0, 300)}${hint}`);
    }
  }
  log("sanity checks passed");

  const runOne = async (s, { durationS, rate }) => {
    const warningsBefore = crossRequestWarnings;
    const result = await runLoad({
      url: s.target.url,
      path: s.path,
      method: s.method,
      body: s.body,
      nextHeaders: s.headers,
      expect: s.expect,
      connections: rate ? opts.fixedConnections : opts.connections,
      durationS,
      overallRate: rate,
      pid: s.pid,
    });
    if (s.target === localQueue) localQueueRequests += result.sent;
    result.crossRequestWarnings = crossRequestWarnings - warningsBefore;
    return result;
  };

  // Warm-up: JIT, connections, caches (not recorded).
  for (const s of scenarios) {
    await prepare(s, opts.warmupS, 0);
    const w = await runOne(s, { durationS: opts.warmupS });
    if (s.pool in rates && w.rps > 0) rates[s.pool] = w.rps;
    if (s.pool === "kv-floor" && w.rps > rates.kv) rates.kv = w.rps; // the floor bounds kv-hit
  }
  log(`warm-up done (${scenarios.length} scenarios × ${opts.warmupS}s)`);

  if (opts.profile) {
    await profileScenarios({ scenarios, keygate, keygateScript, runOne, prepare, durationS: opts.durationS });
    return;
  }

  // Rounds: every scenario once per round, the order rotated each round, so slow drifts of a
  // shared machine spread over all scenarios instead of landing on one.
  const rounds = [];
  const perRoundS = scenarios.length * (opts.durationS + opts.fixedDurationS);
  for (let r = 0; r < opts.rounds; r++) {
    const shift = r % scenarios.length;
    const order = [...scenarios.slice(shift), ...scenarios.slice(0, shift)];
    const round = { round: r + 1, order: order.map((s) => s.id), runs: {} };
    log(`round ${r + 1}/${opts.rounds} (~${perRoundS.toFixed(0)} s of load)`);
    for (const s of order) {
      const prepareMs = await prepare(s, opts.durationS, opts.fixedDurationS);
      const saturation = await runOne(s, { durationS: opts.durationS });
      const fixed = await runOne(s, { durationS: opts.fixedDurationS, rate: opts.rate });
      if (s.pool in rates) rates[s.pool] = Math.max(rates[s.pool], saturation.rps);
      round.runs[s.id] = { saturation, fixed, prepareMs: Math.round(prepareMs) };
      const bad = saturation.unexpected + fixed.unexpected;
      log(
        `  ${s.id.padEnd(18)} ${saturation.rps.toFixed(0).padStart(6)} req/s  p50 ${fmt(saturation.latencyMs.p50)}  p99 ${fmt(saturation.latencyMs.p99)} ms` +
          ` | @${opts.rate}/s p50 ${fmt(fixed.latencyMs.p50)} p99 ${fmt(fixed.latencyMs.p99)} ms` +
          (saturation.cpuUsPerReq ? ` | ${saturation.cpuUsPerReq.toFixed(0)} µs CPU/req` : "") +
          (bad ? `  !! ${bad} unexpected: ${JSON.stringify({ ...saturation.statuses })}` : "") +
          (saturation.exhausted || fixed.exhausted ? "  !! key pool exhausted" : ""),
      );
    }
    rounds.push(round);
  }

  // Diagnostics: audit events stored vs gateway requests (the consumer batches for up to 5 s).
  const diagnostics = localQueue ? await auditDiagnostics(localQueue.mf, localQueueRequests, quick ? 6_000 : 7_000) : { audit: "no local queue in wrangler.toml" };
  diagnostics.runtimeLogs = [...runtimeLogs].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([message, count]) => ({ message, count }));

  // Peers and Keygate are done: stop them before the micro-benchmarks.
  for (const name of ["keygate-local-queue", "keygate-audit-off", "naive-d1", "hono-bearer", "bare-proxy", "keygate"]) {
    const i = cleanups.findIndex((c) => c.name === name);
    if (i >= 0) await cleanups.splice(i, 1)[0].stop();
  }

  // 7. Micro-benchmarks inside workerd.
  let micro = [];
  let requestPath = [];
  if (opts.micro) {
    const microInstance = await startSingle({ name: "micro", config, script: microScript, onLog, inspector: true });
    cleanups.push({ name: "micro", stop: () => microInstance.mf.dispose() });
    log("micro-benchmarks");
    micro = await runMicro(microInstance.url, { reps: opts.microReps, targetMs: opts.microTargetMs });
    for (const m of micro) log(`  ${m.op.padEnd(24)} ${m.nsPerOp.toFixed(0).padStart(8)} ns/op best, ${m.medianNsPerOp.toFixed(0).padStart(8)} median  (${m.iterations} × ${m.reps})`);
    log("request path in process (CPU profiles)");
    requestPath = await runRequestPath({ ...microInstance, script: microScript, workerName: "micro" }, { n: opts.quick ? 1000 : 2000, reps: opts.microReps });
    for (const r of requestPath) log(`  ${r.op.padEnd(26)} ${r.usPerRequest.toFixed(1).padStart(7)} µs/request (median of ${r.reps})`);
  }

  // 8. The audit consumer's write rate into a fresh local D1, in its own workerd.
  let consumer = null;
  if (opts.consumer) {
    const pidsBeforeConsumer = childPids("workerd");
    const instance = await startSingle({
      name: "bench-consumer",
      config,
      script: consumerScript,
      d1: { DB: "bench-consumer" },
      r2: { AUDIT_ARCHIVE: "bench-archive" },
      persistDir: opts.persist ? join(runDir, "state-consumer") : undefined,
      onLog,
    });
    cleanups.push({ name: "bench-consumer", stop: () => instance.mf.dispose() });
    const consumerPid = [...childPids("workerd")].find((p) => !pidsBeforeConsumer.has(p));
    await applyMigrations(instance.mf, "DB", config.migrationsDir, "bench-consumer");
    log(`audit consumer → D1: ${opts.consumerRounds} rounds × ${opts.consumerEvents} events per mode, modes alternated`);
    consumer = await runConsumer(instance.url, { rounds: opts.consumerRounds, events: opts.consumerEvents, keys: 100, warmupEvents: 500, pid: consumerPid, log });
    log(
      `  batched ${consumer.batched.eventsPerS} events/s, single ${consumer.single.eventsPerS} events/s: ${consumer.ratio}× (rounds ${consumer.ratioRange.join("–")}×; Worker-side ${consumer.workerRatio}×)` +
        (consumer.batched.bytesPerEvent !== null ? `; ${consumer.batched.bytesPerEvent} B/event stored (batched), ${consumer.single.bytesPerEvent} (single)` : "") +
        `; archive ${consumer.batched.archiveBytesPerEvent} B/event in R2`,
    );
    const i = cleanups.findIndex((c) => c.name === "bench-consumer");
    if (i >= 0) await cleanups.splice(i, 1)[0].stop();
  }

  // 8b. Isolate memory held by cached keys, with the key cache's own code.
  let memory = null;
  if (opts.memory) {
    const instance = await startSingle({ name: "bench-memory", config, script: memoryScript, onLog, inspector: true });
    cleanups.push({ name: "bench-memory", stop: () => instance.mf.dispose() });
    log(`isolate memory of ${opts.memorySizes.join(" and ")} cached keys (heap after a full GC, over the inspector)`);
    memory = await measureCacheMemory(instance.mf, instance.url, opts.memorySizes);
    for (const m of memory.sizes) log(`  ${m.keys} keys: ${m.mb} MB (${m.bytesPerKey} B/key), filled in ${m.fillMs} ms`);
    const i = cleanups.findIndex((c) => c.name === "bench-memory");
    if (i >= 0) await cleanups.splice(i, 1)[0].stop();
  }

  // 8c. Scale: the cold D1 lookup with more and more keys in D1, one instance per size.
  let scale = null;
  if (opts.scale) {
    log(`scale: cold D1 lookups with ${opts.scaleSizes.map((n) => n.toLocaleString("en-US")).join(" / ")} keys in D1, ${opts.scaleRounds} interleaved rounds × ${opts.scaleDurationS} s at ${opts.rate} req/s, ${opts.scalePoolKeys} keys reused cold (KEY_CACHE_TTL_S=${opts.scaleKeyCacheTtlS}, KV cleared per run)`);
    const started = [];
    scale = await runScale({
      ...scaleOptions,
      log,
      start: async (size) => {
        const name = `keygate-scale-${size}`;
        const before = childPids("workerd");
        const instance = await startKeygate({ name, config, script: keygateScript, seedScript, queueSinkScript, vars: { ORIGIN_URL: originUrl, ADMIN_TOKEN: adminToken, KEY_CACHE_TTL_S: String(opts.scaleKeyCacheTtlS) }, onLog });
        cleanups.push({ name, stop: () => instance.mf.dispose() });
        started.push(name);
        const pid = [...childPids("workerd")].find((p) => !before.has(p));
        await applyMigrations(instance.mf, Object.keys(config.d1)[0], config.migrationsDir, "keygate");
        const { key } = await createOrgAndKey(instance.url, adminToken, "/api/v1/stories");
        const seeder = await instance.mf.getWorker("bench-seed");
        const seed = async (path, body) => {
          const response = await seeder.fetch(`http://seed${path}`, { method: "POST", body: JSON.stringify(body) });
          const text = await response.text();
          if (!response.ok) throw new Error(`seeder ${path}: ${response.status} ${text}`);
          return JSON.parse(text);
        };
        return { url: instance.url, pid, seed, templateId: key.id };
      },
    });
    for (const name of started) {
      const i = cleanups.findIndex((c) => c.name === name);
      if (i >= 0) await cleanups.splice(i, 1)[0].stop();
    }
  }

  // 9. Results.
  const cpus = os.cpus();
  const meta = {
    date: new Date().toISOString(),
    commit,
    dirty,
    source: opts.ref ? `git ${opts.ref}` : "working tree",
    machine: { cpu: cpus[0]?.model?.trim() ?? "unknown", cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.type()} ${os.release()}` },
    loadAverage: { start: startLoad, end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    versions: {
      node: process.version,
      wrangler: versionOf("wrangler"),
      miniflare: versionOf("miniflare"),
      workerd: versionOf("workerd", createRequire(require.resolve("miniflare"))),
      autocannon: versionOf("autocannon"),
    },
    options: {
      quick: opts.quick,
      rounds: opts.rounds,
      saturation: { durationS: opts.durationS, connections: opts.connections },
      fixedLoad: { durationS: opts.fixedDurationS, ratePerS: opts.rate, connections: opts.fixedConnections },
      warmupS: opts.warmupS,
      storage: opts.persist ? "local D1/KV persisted on disk" : "local D1/KV in memory (fresh each run)",
      route: `GET ${ROUTE} (stories:read, project "origin")`,
      publicRoute: `GET ${PUBLIC}`,
      keyCacheTtlS: Number(config.vars.KEY_CACHE_TTL_S ?? 60),
    },
    durationS: Math.round((performance.now() - t0) / 1000),
  };
  const results = summarize({ meta, scenarios: scenarios.map(({ id, label, group }) => ({ id, label, group })), rounds, micro, requestPath, consumer, memory, scale, diagnostics });
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeFileSync(join(opts.out, "results.md"), renderMarkdown(results));
  writeFileSync(join(opts.out, "results.svg"), renderSvg(results));
  log(`wrote ${["results.md", "results.json", "results.svg"].map((f) => relative(REPO, join(opts.out, f))).join(", ")}`);
  for (const t of results.targets) log(`  ${t.status.padEnd(14)} ${t.name}: ${t.measured}`);
  if (consumer) {
    log(`  audit consumer → D1 + R2 archive: batches of 100 ${consumer.batched.eventsPerS} events/s vs one INSERT per event ${consumer.single.eventsPerS} events/s = ${consumer.ratio}×; ${consumer.batched.bytesPerEvent} B/event in D1, ${consumer.batched.archiveBytesPerEvent} B/event in R2`);
  }
}

/** `--profile`: each Keygate scenario under V8's CPU profiler; files and a summary in bench/.tmp/profile. */
async function profileScenarios({ scenarios, keygate, keygateScript, runOne, prepare, durationS }) {
  const dir = join(BENCH_DIR, ".tmp", "profile");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const profiled = [];
  // memory-hit once more at the end, when the kv-hit and d1-cold runs have filled the memory cache.
  const memoryHit = scenarios.find((x) => x.id === "memory-hit");
  const order = [
    ...scenarios.filter((x) => x.target === keygate),
    { ...memoryHit, id: "memory-hit-after", label: `${memoryHit.label}, after the runs above (fuller memory cache)` },
    ...scenarios.filter((x) => x.target !== keygate && x.target.mf && x.target.script),
  ];
  for (const s of order) {
    await prepare(s, durationS, 0);
    const ws = await inspectorTarget(s.target.mf, s.target.inspectorName ?? "keygate");
    const { profile, result } = await profileDuring(ws, () => runOne(s, { durationS }));
    writeFileSync(join(dir, `${s.id}.cpuprofile`), JSON.stringify(profile));
    const summary = summarizeProfile(profile, s.target.script ?? keygateScript);
    const perReq = (ms) => Math.round((ms * 1000) / Math.max(1, result.total));
    profiled.push({ s, result, summary, perReq });
    log(`profiled ${s.id}: ${result.rps.toFixed(0)} req/s, isolate busy ${summary.busyMs} ms over ${durationS} s (${perReq(summary.busyMs)} µs/request)`);
  }

  const md = [
    "# Keygate CPU profiles",
    "",
    `V8's sampling profiler on the Keygate isolate's thread, ${durationS} s of saturation load per scenario. ` +
      "µs/request = samples ÷ responses. `(program)` and `(native)` are workerd's own work on that thread (HTTP, subrequests, bindings); " +
      "the local KV and D1 simulators run in other isolates and do not show here. Open the .cpuprofile files in Chrome DevTools or speedscope.",
    "",
    "## Self time by module, µs per request",
    "",
  ];
  const modules = [...new Set(profiled.flatMap((p) => p.summary.modules.slice(0, 14).map((m) => m.name)))];
  md.push(`| module | ${profiled.map((p) => p.s.id).join(" | ")} |`, `|---|${profiled.map(() => "---:").join("|")}|`);
  md.push(`| **isolate busy** | ${profiled.map((p) => `**${p.perReq(p.summary.busyMs)}**`).join(" | ")} |`);
  for (const m of modules) {
    md.push(`| ${m} | ${profiled.map((p) => { const row = p.summary.modules.find((x) => x.name === m); return row ? p.perReq(row.ms) : "·"; }).join(" | ")} |`);
  }
  md.push("");
  for (const { s, result, summary, perReq } of profiled) {
    md.push(`## ${s.id}: ${s.label}`, "", `${result.rps.toFixed(0)} req/s under the profiler; isolate busy ${perReq(summary.busyMs)} µs per request.`, "");
    md.push("| function (inclusive: itself and what it calls) | µs/req | % of busy |", "|---|---:|---:|", ...summary.inclusive.map((r) => `| ${r.name} | ${perReq(r.ms)} | ${r.share} |`), "");
    md.push("| function (self) | µs/req | % of busy |", "|---|---:|---:|", ...summary.self.map((r) => `| ${r.name} | ${perReq(r.ms)} | ${r.share} |`), "");
  }
  writeFileSync(join(dir, "summary.md"), md.join("\n"));
  log(`wrote ${relative(REPO, dir)}/summary.md and one .cpuprofile per scenario`);
}

function fmt(ms) {
  return ms === null ? "  -  " : ms.toFixed(2).padStart(6);
}

/** An org and a `stories:read` key (with `settings`) through the admin API, and the key's first request (D1 → memory, KV). */
async function createOrgAndKey(base, adminToken, route, settings = {}) {
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const org = (await expectJson("POST /orgs", new URL("/_keygate/v1/orgs", base), { method: "POST", headers: admin, body: JSON.stringify({ name: "bench" }) }, 201)).data;
  const key = (
    await expectJson(
      "POST /keys",
      new URL("/_keygate/v1/keys", base),
      { method: "POST", headers: admin, body: JSON.stringify({ org_id: org.id, name: "bench memory-hit key", scopes: ["stories:read"], ...settings }) },
      201,
    )
  ).data;
  // The first request loads the key from D1 and writes its KV entry (in waitUntil).
  await expectJson("first request with the new key", new URL(route, base), { headers: { "x-api-key": key.key } }, 200);
  return { org, key };
}

/** Copies the template key's org and key rows from Keygate's D1 to the naive peer's, column for column. */
async function copyRows(fromMf, toMf, keyId, orgId) {
  const from = await fromMf.getD1Database("DB", "keygate");
  const to = await toMf.getD1Database("DB", "naive-d1");
  for (const [table, id] of [["orgs", orgId], ["api_keys", keyId]]) {
    const row = await from.prepare(`SELECT * FROM ${table} WHERE id = ?`).bind(id).first();
    if (!row) throw new Error(`no ${table} row ${id}`);
    const columns = Object.keys(row);
    await to
      .prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
      .bind(...columns.map((c) => row[c]))
      .run();
  }
}

async function auditDiagnostics(mf, requests, waitMs) {
  try {
    const db = await mf.getD1Database("DB", "keygate");
    const exists = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'").first();
    if (!exists) return { audit: "no audit_events table" };
    await sleep(waitMs);
    const row = await db.prepare("SELECT COUNT(*) AS n FROM audit_events").first();
    return { audit: { gatewayAndAdminRequests: requests, auditEventsStored: row.n, afterWaitMs: waitMs } };
  } catch (error) {
    return { audit: `unavailable: ${error?.message ?? error}` };
  }
}

const startLoad = os.loadavg().map((x) => Math.round(x * 100) / 100);
main()
  .then(async () => {
    await cleanup();
    clearTimeout(watchdog);
    process.exit(0);
  })
  .catch((error) => abort(error?.stack ?? String(error)));
