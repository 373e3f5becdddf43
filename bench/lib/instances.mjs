// Starts each Worker of the bench in its own Miniflare instance (its own workerd process), listening
// on 127.0.0.1 directly: no dev proxy in front, so every request is load generator → workerd →
// origin, and the only difference between scenarios is the Worker's own work.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig, unstable_splitSqlQuery } from "wrangler";

/** The parts of wrangler.toml the bench reproduces: vars, D1, KV, queues, Durable Objects, rate limits, compatibility. */
export function readWranglerConfig(root) {
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
  const queueConsumers = {};
  for (const consumer of config.queues?.consumers ?? []) {
    queueConsumers[consumer.queue] = {
      ...(consumer.max_batch_size !== undefined && { maxBatchSize: consumer.max_batch_size }),
      ...(consumer.max_batch_timeout !== undefined && { maxBatchTimeout: consumer.max_batch_timeout }),
      ...(consumer.max_retries !== undefined && { maxRetries: consumer.max_retries }),
      ...(consumer.dead_letter_queue !== undefined && { deadLetterQueue: consumer.dead_letter_queue }),
    };
  }
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    vars: Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    d1: Object.fromEntries((config.d1_databases ?? []).map((db) => [db.binding, db.database_id ?? db.database_name])),
    kv: Object.fromEntries((config.kv_namespaces ?? []).map((ns) => [ns.binding, ns.id ?? ns.binding])),
    r2: Object.fromEntries((config.r2_buckets ?? []).map((bucket) => [bucket.binding, bucket.bucket_name ?? bucket.binding])),
    queueProducers: Object.fromEntries((config.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }])),
    queueConsumers,
    durableObjects: Object.fromEntries(
      (config.durable_objects?.bindings ?? []).map((d) => [d.name, { className: d.class_name, useSQLite: (config.migrations ?? []).some((m) => m.new_sqlite_classes?.includes(d.class_name)) }]),
    ),
    ratelimits: Object.fromEntries((config.ratelimits ?? []).map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }])),
    migrationsDir: join(root, config.d1_databases?.[0]?.migrations_dir ?? "migrations"),
  };
}

const SHARED = {
  host: "127.0.0.1",
  port: 0,
  cf: false, // never fetch cf.json: the bench has no network
  logRequests: false,
  telemetry: { enabled: false },
};

/** Miniflare 5 takes a new options shape; the bench writes the familiar v4 one and converts it. */
function miniflare(v4Options) {
  return new Miniflare({ ...convertV4MiniflareOptions(v4Options), enableDevRegistry: false });
}

function log() {
  return new Log(process.env.BENCH_VERBOSE ? LogLevel.DEBUG : LogLevel.WARN);
}

/** workerd's own log lines (console output, runtime warnings) go to `onLog(instance, log)`. */
function logOptions(name, onLog) {
  return { log: log(), ...(onLog && { handleStructuredLogs: (entry) => onLog(name, entry) }) };
}

async function started(mf, name) {
  try {
    return { mf, url: await mf.ready, name };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw new Error(`${name}: workerd failed to start: ${error?.message ?? error}`);
  }
}

/** Keygate as wrangler.toml configures it, plus the bench-only seeder on the same D1. */
export async function startKeygate({ config, script, seedScript, kvFloorScript, queueSinkScript, name = "keygate", persistDir, vars, onLog, inspector = false }) {
  // With a queue sink, every Queue producer binding is a no-op RPC stub and nothing is consumed.
  const sinkBindings = Object.fromEntries(Object.keys(config.queueProducers).map((binding) => [binding, { name: "queue-sink", entrypoint: "QueueSink" }]));
  const mf = miniflare({
    ...SHARED,
    ...(inspector && { inspectorPort: 0 }),
    ...logOptions(name, onLog),
    ...(persistDir && { resourcePersistencePath: persistDir }),
    workers: [
      {
        name: "keygate",
        modules: true,
        scriptPath: script,
        compatibilityDate: config.compatibilityDate,
        compatibilityFlags: config.compatibilityFlags,
        bindings: { ...config.vars, ...vars },
        d1Databases: config.d1,
        kvNamespaces: config.kv,
        durableObjects: config.durableObjects,
        ratelimits: config.ratelimits,
        r2Buckets: config.r2,
        ...(queueSinkScript
          ? { serviceBindings: sinkBindings }
          : { queueProducers: config.queueProducers, queueConsumers: config.queueConsumers }),
      },
      ...(queueSinkScript
        ? [
            {
              name: "queue-sink",
              modules: true,
              scriptPath: queueSinkScript,
              compatibilityDate: config.compatibilityDate,
              compatibilityFlags: config.compatibilityFlags,
            },
          ]
        : []),
      ...(kvFloorScript
        ? [
            {
              // The KV-hit control, on the same KV namespace, with its own socket on 127.0.0.1.
              name: "kv-floor",
              modules: true,
              scriptPath: kvFloorScript,
              compatibilityDate: config.compatibilityDate,
              compatibilityFlags: config.compatibilityFlags,
              bindings: { ORIGIN_URL: vars.ORIGIN_URL },
              kvNamespaces: config.kv,
              unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
            },
          ]
        : []),
      {
        name: "bench-seed",
        modules: true,
        scriptPath: seedScript,
        compatibilityDate: config.compatibilityDate,
        compatibilityFlags: config.compatibilityFlags,
        bindings: { KEY_ENV: config.vars.KEY_ENV ?? "live" },
        d1Databases: config.d1,
        kvNamespaces: config.kv,
      },
    ],
  });
  return started(mf, name);
}

/** A single-Worker instance (the peers and the micro-benchmark Worker). */
export async function startSingle({ name, config, script, bindings = {}, d1 = {}, r2 = {}, persistDir, onLog, inspector = false }) {
  const mf = miniflare({
    ...SHARED,
    ...(inspector && { inspectorPort: 0 }),
    ...logOptions(name, onLog),
    ...(persistDir && { resourcePersistencePath: persistDir }),
    workers: [
      {
        name,
        modules: true,
        scriptPath: script,
        compatibilityDate: config.compatibilityDate,
        compatibilityFlags: config.compatibilityFlags,
        bindings,
        d1Databases: d1,
        r2Buckets: r2,
      },
    ],
  });
  return started(mf, name);
}

/** Applies every `migrations/*.sql` in order through the D1 binding (what `wrangler d1 migrations apply --local` runs). */
export async function applyMigrations(mf, binding, migrationsDir, workerName) {
  const db = await mf.getD1Database(binding, workerName);
  const files = readdirSync(migrationsDir).filter((f) => f.endsWith(".sql")).sort();
  for (const file of files) {
    const statements = unstable_splitSqlQuery(readFileSync(join(migrationsDir, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  return files;
}
