// `npm run bench:storage` (node bench/micro/storage.mjs with the Node of the `node` devDependency):
// what one storage call of an API-key lookup costs the workerd process in CPU, with local D1 and KV
// in memory as the bench runs them. bench/micro/storage-worker.ts makes each call `n` times in a
// row inside one request, with no load generator and no concurrency, and this script divides the
// process's user+system CPU time (/proc) by `n`. On a shared machine other work can only add to a
// round, so the minimum over rounds is the estimate (the median is printed beside it).
// Env: N (calls per round, default 1000), ROUNDS (default 5).
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { buildWorker } from "../lib/build.mjs";
import { applyMigrations, readWranglerConfig } from "../lib/instances.mjs";
import { childPids, cpuMs } from "../lib/proc.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const N = Number(process.env.N ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

// Under the repository: workerd refuses a script path that leaves its working directory.
const outdir = join(ROOT, "bench", ".tmp", `storage-${process.pid}`);
const config = readWranglerConfig(ROOT);
const before = childPids("workerd");
const mf = new Miniflare({
  ...convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    log: new Log(LogLevel.WARN),
    workers: [
      {
        name: "storage",
        modules: true,
        scriptPath: await buildWorker({ root: ROOT, entry: "bench/micro/storage-worker.ts", outdir }),
        compatibilityDate: config.compatibilityDate,
        compatibilityFlags: config.compatibilityFlags,
        d1Databases: { DB: "bench-storage" },
        kvNamespaces: { KEY_CACHE: "bench-storage" },
      },
    ],
  }),
  enableDevRegistry: false,
});
try {
  const url = await mf.ready;
  const [pid] = [...childPids("workerd")].filter((p) => !before.has(p));
  if (!pid) throw new Error("workerd process not found");
  await applyMigrations(mf, "DB", join(ROOT, "migrations"), "storage");
  const call = async (path) => {
    const res = await fetch(new URL(path, url), { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  await call("/setup");
  const ops = await (await call("/ops")).json();
  const perCallUs = async (op) => {
    const start = cpuMs(pid);
    await call(`/run?op=${op}&n=${N}`);
    return ((cpuMs(pid) - start) * 1000) / N;
  };
  const rounds = Object.fromEntries(Object.keys(ops).map((op) => [op, []]));
  for (const op of Object.keys(ops)) await perCallUs(op); // warm-up
  for (let r = 0; r < ROUNDS; r++) for (const op of Object.keys(ops)) rounds[op].push(await perCallUs(op));
  const noop = Math.min(...rounds.noop);
  console.log(`workerd CPU µs per call (${N} calls × ${ROUNDS} rounds, less the empty loop's ${noop.toFixed(1)} µs; min and median over rounds)`);
  console.log("| call | min | median | what |\n|---|---:|---:|---|");
  for (const [op, describe] of Object.entries(ops)) {
    if (op === "noop") continue;
    const sorted = rounds[op].map((us) => us - noop).sort((a, b) => a - b);
    console.log(`| \`${op}\` | ${sorted[0].toFixed(0)} | ${sorted[sorted.length >> 1].toFixed(0)} | ${describe} |`);
  }
} finally {
  await mf.dispose();
  rmSync(outdir, { recursive: true, force: true });
}
