/**
 * @module
 * Bench-only seeder, run beside Keygate in the same Miniflare instance (same D1 database and KV
 * namespace, so what it writes is what the gateway reads). Never deployed; the load generator
 * never reaches it (the harness calls it through Miniflare's `getWorker`).
 *
 * - `POST /keys {template_id, count}`: creates `count` API keys in D1 with Keygate's own code
 *   (`generateApiKey`, `hashApiKey`, `insertKey`), copying every setting of a template key that the
 *   admin API created, so each is exactly what `POST /_keygate/v1/keys` would have made.
 * - `POST /kv {template_key | template: {prefix, entry}, count}`: `count` new keys with a KV cache
 *   entry each (and nothing in D1), cloned from the entry the gateway itself wrote for the template
 *   key, named the same way (the name is found by listing KV: the one ending in the template key's
 *   SHA-256), with `cachedAt` now, as the gateway writes it. Returns the keys and the template, to
 *   pass back next time (the gateway's own entry expires from KV after the TTL). Because these keys
 *   have no D1 row, a 200 from the gateway proves the request was answered from KV; a format
 *   drift in `src/cache/tiered.ts` shows up as 401s (and the harness stops), never as silently
 *   wrong numbers.
 * - `POST /generate {count}`: well-formed keys (valid checksum) stored nowhere: unknown keys.
 * - `POST /fill {template_id, total, chunk}`: adds filler key rows in the template's org until
 *   `api_keys` holds `total` rows, or `chunk` rows at most per call, in ONE `INSERT … SELECT` over a
 *   recursive CTE (SQLite generates the rows: no per-row round trip). Filler rows have random ids
 *   and random 64-hex hashes, the size of real rows; nobody holds their keys, they only make the
 *   table and its `key_hash` index as large as a deployment's. Returns the row count.
 * - `POST /lookup {keys}`: runs Keygate's own `findKeyByHash` once per key, one after another,
 *   and returns the elapsed Worker time and each lookup's (workerd's clock moves, in whole
 *   milliseconds, on each awaited D1 call, so first-to-last is real), and SQLite's plan for a
 *   lookup by `key_hash`.
 * - `POST /kv-clear`: deletes every KV entry, so keys the gateway has cached in KV are cold again
 *   (the scale figures reuse their keys with KEY_CACHE_TTL_S=1, which empties the memory tier).
 */
import { findKeyByHash, findKeyById, insertKey } from "../../src/db/keys";
import type { Bindings } from "../../src/env";
import { generateApiKey, hashApiKey, keyPrefix } from "../../src/core/api-key";
import { newId } from "../../src/core/ids";

const MAX_COUNT = 50_000;
const CHUNK = 250;
/** KV refuses expirationTtl below 60 s; the gateway writes max(60, TTL). */
const KV_EXPIRATION_S = 60;

interface KvEntry {
  cachedAt: number;
  value: { id: string; key_prefix: string } & Record<string, unknown>;
}

function fail(status: number, message: string): Response {
  return new Response(message, { status });
}

async function inChunks<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, i) => make(done + i)))));
  }
  return out;
}

async function createKeys(env: Bindings, templateId: string, count: number): Promise<Response> {
  const template = await findKeyById(env.DB, undefined, templateId);
  if (!template) return fail(404, `no key ${templateId}`);
  const keyEnv = env.KEY_ENV === "test" ? "test" : "live";
  const keys = await inChunks(count, async () => {
    const raw = generateApiKey(keyEnv);
    const record = { ...template.record, id: newId("key"), name: "bench pool key", key_prefix: keyPrefix(raw), created_at: new Date().toISOString() };
    await insertKey(env.DB, { record, hash: await hashApiKey(raw) });
    return raw;
  });
  return Response.json({ keys });
}

interface KvTemplate {
  /** What precedes the SHA-256 hex in the gateway's KV names, e.g. `key:v1:`. */
  prefix: string;
  /** The gateway's own entry for the template key, as JSON text. */
  entry: string;
}

/** Finds the entry the gateway wrote for `templateKey`, whatever its naming scheme. */
async function findTemplate(env: Bindings, templateKey: string): Promise<KvTemplate | string> {
  const hash = await hashApiKey(templateKey);
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const list = await env.KEY_CACHE.list({ cursor, limit: 1000 });
    const name = list.keys.map((k) => k.name).find((n) => n.endsWith(hash));
    if (name) {
      const entry = await env.KEY_CACHE.get(name);
      return entry === null ? `KV entry ${name} vanished` : { prefix: name.slice(0, -hash.length), entry };
    }
    if (list.list_complete) break;
    cursor = list.cursor;
  }
  return "the gateway wrote no KV entry named after the template key's SHA-256 (yet?)";
}

async function writeKvEntries(env: Bindings, templateKey: string | undefined, given: KvTemplate | undefined, count: number): Promise<Response> {
  const template = given ?? (templateKey ? await findTemplate(env, templateKey) : "no template");
  if (typeof template === "string") return fail(409, `${template}: has src/cache/tiered.ts changed how it caches keys in KV? See bench/seed/worker.ts`);
  const sample = JSON.parse(template.entry) as Partial<KvEntry>;
  if (typeof sample.cachedAt !== "number" || typeof sample.value?.id !== "string" || typeof sample.value?.key_prefix !== "string") {
    return fail(422, `unexpected KV entry shape ${template.entry.slice(0, 200)}: has src/cache/tiered.ts changed its entry format? Update bench/seed/worker.ts`);
  }
  const keyEnv = env.KEY_ENV === "test" ? "test" : "live";
  const cachedAt = Date.now();
  const keys = await inChunks(count, async () => {
    const raw = generateApiKey(keyEnv);
    const entry: KvEntry = { ...sample, cachedAt, value: { ...sample.value!, id: newId("key"), key_prefix: keyPrefix(raw) } };
    await env.KEY_CACHE.put(template.prefix + (await hashApiKey(raw)), JSON.stringify(entry), { expirationTtl: KV_EXPIRATION_S });
    return raw;
  });
  return Response.json({ keys, cachedAt, template });
}

const MAX_FILL_CHUNK = 200_000;

async function fill(env: Bindings, templateId: string, total: number, chunk: number): Promise<Response> {
  const template = await findKeyById(env.DB, undefined, templateId);
  if (!template) return fail(404, `no key ${templateId}`);
  const count = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>())!.n;
  const missing = Math.min(chunk, total - (await count()));
  if (missing > 0) {
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO api_keys (id, org_id, name, key_prefix, key_hash, scopes, created_at, rotation_root_id)
       SELECT 'key_' || substr(lower(hex(randomblob(13))), 1, 26), ?2, 'bench filler key', 'kg_live_fill',
              lower(hex(randomblob(32))), ?3, ?4, NULL
       FROM n`,
    )
      .bind(missing, template.record.org_id, JSON.stringify(template.record.scopes), new Date().toISOString())
      .run();
  }
  return Response.json({ rows: await count() });
}

async function lookup(env: Bindings, keys: string[]): Promise<Response> {
  const hashes = await Promise.all(keys.map((key) => hashApiKey(key)));
  const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT * FROM api_keys WHERE key_hash = ?").bind(hashes[0]).all<{ detail: string }>();
  const started = Date.now();
  const ms: number[] = [];
  let found = 0;
  for (const hash of hashes) {
    const before = Date.now();
    if (await findKeyByHash(env.DB, hash)) found++;
    ms.push(Date.now() - before);
  }
  return Response.json({ lookups: hashes.length, found, elapsedMs: Date.now() - started, ms, plan: plan.results.map((r) => r.detail).join("; ") });
}

/** Deletes every KV entry (the scale instances' key cache), a page at a time. */
async function clearKv(env: Bindings): Promise<Response> {
  let deleted = 0;
  for (let page = 0; page < 100; page++) {
    const list = await env.KEY_CACHE.list({ limit: 1000 });
    await Promise.all(list.keys.map((k) => env.KEY_CACHE.delete(k.name)));
    deleted += list.keys.length;
    if (list.list_complete) return Response.json({ deleted });
  }
  return fail(507, `more than 100 pages of KV entries (deleted ${deleted})`);
}

export default {
  async fetch(request: Request, env: Bindings): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "POST") return fail(405, "POST only");
    const body = (await request.json()) as {
      template_id?: string;
      template_key?: string;
      template?: KvTemplate;
      count?: number;
      total?: number;
      chunk?: number;
      keys?: string[];
    };
    if (url.pathname === "/fill" && body.template_id && Number.isInteger(body.total) && Number.isInteger(body.chunk)) {
      return fill(env, body.template_id, body.total!, Math.min(MAX_FILL_CHUNK, body.chunk!));
    }
    if (url.pathname === "/kv-clear") return clearKv(env);
    if (url.pathname === "/lookup" && Array.isArray(body.keys) && body.keys.length > 0 && body.keys.length <= MAX_COUNT) {
      return lookup(env, body.keys);
    }
    const count = body.count ?? 0;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) return fail(400, `count must be 1..${MAX_COUNT}`);
    if (url.pathname === "/keys" && body.template_id) return createKeys(env, body.template_id, count);
    if (url.pathname === "/generate") {
      const keyEnv = env.KEY_ENV === "test" ? "test" : "live";
      return Response.json({ keys: Array.from({ length: count }, () => generateApiKey(keyEnv)) });
    }
    if (url.pathname === "/kv" && (body.template_key || body.template)) {
      return writeKvEntries(env, body.template_key, body.template, count);
    }
    return fail(404, "POST /keys {template_id, count}, /kv {template_key | template, count}, /generate {count}, /fill, /lookup or /kv-clear");
  },
} satisfies ExportedHandler<Bindings>;
