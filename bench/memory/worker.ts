/**
 * @module
 * Bench-only Worker: the isolate memory that cached API keys hold, measured with Keygate's own
 * cache code. `POST /fill?n=N` loads N distinct keys through a `TieredCache` built from the key
 * cache's own options (`keyCache.options`: schema, compile, namespace) with room for N entries: each
 * key misses memory and KV, is "read from D1" (its own JSON text, parsed as a D1 row would be),
 * compiled by `compileKey` and stored by `MemoryCache.set`, exactly as `resolveCaller` fills the
 * cache. `POST /clear` drops the cache. The harness forces V8's GC over the inspector and reads the
 * isolate's heap before and after (bench/lib/memory.mjs); this Worker only holds the entries.
 */
import { TieredCache, type CacheContext } from "../../src/cache/tiered";
import type { KeyState } from "../../src/caller/active-key";
import { keyCache } from "../../src/credentials/key-cache";
import { generateApiKey, hashApiKey, keyPrefix } from "../../src/core/api-key";
import { newId } from "../../src/core/ids";

const MAX_N = 1_000_000;

let held: unknown;

/** A KV that never has the entry and a `waitUntil` that drops the write-back: memory only. */
function missContext(): CacheContext {
  const kv = { get: async () => null, put: async () => {} } as unknown as KVNamespace;
  return { kv, ttlMs: 60_000, negativeTtlMs: 10_000, now: Date.now(), defer: () => {} };
}

async function fill(n: number): Promise<number> {
  const cache = new TieredCache({ ...keyCache.options, maxEntries: n });
  const orgId = newId("org");
  const ctx = missContext();
  for (let i = 0; i < n; i++) {
    const raw = generateApiKey("live");
    const id = newId("key");
    // One row's JSON per key, so no two entries share strings, as keys read from D1 or KV do not.
    const row = JSON.stringify({
      id,
      org_id: orgId,
      project_id: null,
      key_prefix: keyPrefix(raw),
      scopes: ["stories:read"],
      allowed_ips: [],
      allowed_origins: [],
      restrictions_mode: "enforce",
      not_before: null,
      expires_at: null,
      revoked_at: null,
      rate_limits: [],
      quota: null,
      rotation_root_id: id,
    });
    await cache.get(ctx, await hashApiKey(raw), async () => JSON.parse(row) as KeyState);
  }
  held = cache;
  return n;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/clear") {
      held = undefined;
      return Response.json({ cleared: true });
    }
    const n = Number(url.searchParams.get("n"));
    if (request.method === "POST" && url.pathname === "/fill" && Number.isInteger(n) && n > 0 && n <= MAX_N) {
      return Response.json({ filled: await fill(n), keyCacheMaxEntries: keyCache.options.maxEntries });
    }
    return new Response("POST /fill?n=N or /clear", { status: 400 });
  },
} satisfies ExportedHandler;
