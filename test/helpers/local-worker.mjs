// Starts the real Keygate Worker on 127.0.0.1 for tests that drive it as its users' software does
// (the CLI, a browser, OAuth and MCP clients), the way the bench does (bench/lib/build.mjs, bench/lib/instances.mjs): bundle src/index.ts with wrangler's own
// bundler (`wrangler deploy --dry-run`), run it in Miniflare (workerd) with wrangler.toml's
// bindings, a temp persist dir and the D1 migrations applied. Plain JS: the repo's typecheck has no
// Node types.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const ADMIN_TOKEN = "local-test-admin-token-0123456789abcdef";
const WRANGLER_BIN = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** A port that was free a moment ago (BETTER_AUTH_URL must name the Worker's own origin up front). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function bundle(outdir) {
  return new Promise((resolve, reject) => {
    const args = [WRANGLER_BIN, "deploy", "src/index.ts", "--dry-run", "--outdir", outdir, "--config", join(ROOT, "wrangler.toml")];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const script = join(outdir, "index.js");
      if (code === 0 && existsSync(script)) resolve(script);
      else reject(new Error(`bundling the Worker failed (exit ${code}):\n${output.slice(-3000)}`));
    });
  });
}

/**
 * Starts the Worker; returns { url, adminToken, mf, dispose }. Audit batches are delivered at once
 * (maxBatchTimeout 0.05 s) so tests see events without waiting.
 * @param {{ bindings?: Record<string, string> }} [options] - vars that override the defaults
 *   (e.g. `POLICY`, `ORIGIN_URL`; set `ECHO: ""` to turn echo mode off).
 */
export async function startLocalWorker(options = {}) {
  const { Miniflare, convertV4MiniflareOptions, Log, LogLevel } = await import("miniflare");
  const { unstable_readConfig, unstable_splitSqlQuery } = await import("wrangler");
  const dir = await mkdtemp(join(tmpdir(), "keygate-cli-worker-"));
  const script = await bundle(join(dir, "build"));
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const vars = Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const mf = new Miniflare({
    ...convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      cf: false,
      log: new Log(process.env.KEYGATE_TEST_VERBOSE ? LogLevel.DEBUG : LogLevel.NONE),
      resourcePersistencePath: join(dir, "state"),
      workers: [
        {
          name: "keygate",
          modules: true,
          scriptPath: script,
          // Module names are relative to this root; the default (cwd) cannot reach a temp dir.
          modulesRoot: join(dir, "build"),
          compatibilityDate: config.compatibility_date,
          compatibilityFlags: config.compatibility_flags ?? [],
          bindings: {
            ...vars,
            ADMIN_TOKEN,
            BETTER_AUTH_SECRET: "local-test-better-auth-secret-0123456789abcdef0123",
            BETTER_AUTH_URL: url,
            ECHO: "1",
            // Tests sign users up freely, as in the workers project; pass SIGNUP to test the others.
            SIGNUP: "open",
            ...options.bindings,
          },
          d1Databases: Object.fromEntries((config.d1_databases ?? []).map((db) => [db.binding, db.database_id ?? db.database_name])),
          kvNamespaces: Object.fromEntries((config.kv_namespaces ?? []).map((ns) => [ns.binding, ns.id ?? ns.binding])),
          r2Buckets: Object.fromEntries((config.r2_buckets ?? []).map((bucket) => [bucket.binding, bucket.bucket_name ?? bucket.binding])),
          queueProducers: Object.fromEntries((config.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }])),
          queueConsumers: { "keygate-audit": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5 } },
        },
      ],
    }),
    enableDevRegistry: false,
  });
  const dispose = async () => {
    await mf.dispose().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mf.ready;
    const db = await mf.getD1Database("DB", "keygate");
    const migrations = join(ROOT, config.d1_databases?.[0]?.migrations_dir ?? "migrations");
    for (const file of readdirSync(migrations).filter((f) => f.endsWith(".sql")).sort()) {
      const statements = unstable_splitSqlQuery(readFileSync(join(migrations, file), "utf8"));
      await db.batch(statements.map((sql) => db.prepare(sql)));
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { url, adminToken: ADMIN_TOKEN, mf, dispose };
}

