/**
 * @module
 * Bench-only Worker for `node bench/micro/storage.mjs`: the storage calls of an API-key lookup, each
 * made `n` times in a row by one request, so the harness can divide the workerd process's CPU time
 * by `n`. Local KV and D1 run as simulators inside that process, so this is what one call costs the
 * bench's "workerd CPU" column, whichever Worker makes it. The calls are Keygate's own: the cold
 * read (`findKeyByHash` on a `first-primary` session), and KV reads and writes with the options
 * src/cache/tiered.ts passes; beside them the naive D1 peer's three-column query.
 */
import { findKeyByHash, insertKey } from "../../src/db/keys";
import { insertOrg } from "../../src/db/orgs";
import { newId } from "../../src/core/ids";

interface Env {
  DB: D1Database;
  KEY_CACHE: KVNamespace;
}

const HASH = "0".repeat(64);
/** The size and shape of the entry the gateway writes for a one-scope key. */
const KV_ENTRY = JSON.stringify({
  cachedAt: 1_800_000_000_000,
  value: {
    id: "key_01JD3Q5K2M8Z4X7V9B1C3D5F7H", org_id: "org_01JD3Q5K2M8Z4X7V9B1C3D5F7G", project_id: null, key_prefix: "kg_live_abcd",
    scopes: ["stories:read"], allowed_ips: [], allowed_origins: [], restrictions_mode: "enforce", not_before: null, expires_at: null,
    revoked_at: null, rate_limits: [], quota: null, rotation_root_id: "key_01JD3Q5K2M8Z4X7V9B1C3D5F7H",
  },
});

type Op = (env: Env, i: number) => Promise<unknown>;

const OPS: Record<string, { describe: string; run: Op }> = {
  noop: { describe: "nothing (the loop and the request alone)", run: async () => 0 },
  "d1-find-key": {
    describe: "Keygate's cold read: findKeyByHash on a first-primary session (D1 query of the key's row)",
    run: (env) => findKeyByHash(env.DB.withSession("first-primary"), HASH),
  },
  "d1-naive": {
    describe: "the naive D1 peer's query: SELECT scopes, revoked_at, expires_at … WHERE key_hash = ?",
    run: (env) => env.DB.prepare("SELECT scopes, revoked_at, expires_at FROM api_keys WHERE key_hash = ?").bind(HASH).first(),
  },
  "kv-get-miss": {
    describe: "KV read of a name that holds nothing (a cold key's first tier after memory)",
    run: (env, i) => env.KEY_CACHE.get(`key:bench:miss-${i}`, { type: "json", cacheTtl: 60 }),
  },
  "kv-get-hit": {
    describe: "KV read of a key's entry (a KV hit)",
    run: (env) => env.KEY_CACHE.get("key:bench:hit", { type: "json", cacheTtl: 60 }),
  },
  "kv-put": {
    describe: "KV write of a key's entry with expirationTtl 60 (the write-back after a D1 read)",
    run: (env, i) => env.KEY_CACHE.put(`key:bench:put-${i % 1000}`, KV_ENTRY, { expirationTtl: 60 }),
  },
};

async function setUp(env: Env): Promise<void> {
  const orgId = newId("org");
  const now = new Date().toISOString();
  await insertOrg(env.DB, { id: orgId, name: "bench", created_at: now });
  const id = newId("key");
  await insertKey(env.DB, {
    hash: HASH,
    record: {
      id, org_id: orgId, project_id: null, name: "bench key", key_prefix: "kg_live_abcd", scopes: ["stories:read"], preset: null,
      allowed_ips: [], allowed_origins: [], restrictions_mode: "enforce", not_before: null, expires_at: null, last_used_at: null,
      created_at: now, revoked_at: null, rotated_from: null, rotated_to: null, rate_limits: [], quota: null, rotation_root_id: id,
    },
  });
  await env.KEY_CACHE.put("key:bench:hit", KV_ENTRY, { expirationTtl: 3600 });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ops") return Response.json(Object.fromEntries(Object.entries(OPS).map(([name, op]) => [name, op.describe])));
    if (url.pathname === "/setup") return setUp(env).then(() => new Response(null, { status: 204 }));
    const op = OPS[url.searchParams.get("op") ?? ""];
    const n = Math.min(10_000, Math.max(1, Number(url.searchParams.get("n")) || 1));
    if (!op) return new Response("unknown op", { status: 404 });
    for (let i = 0; i < n; i++) await op.run(env, i);
    return new Response(null, { status: 204 });
  },
} satisfies ExportedHandler<Env>;
