/**
 * SPEC §8: the three-tier key lookup (isolate memory, KV, D1): changes take effect at once in the
 * Worker that made them, cached entries never outlive KEY_CACHE_TTL_S, and auth fails closed.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { keyCache } from "../../src/credentials/key-cache";
import { generateApiKey, hashApiKey } from "../../src/core/api-key";
import { admin, call, createKey, createOrg } from "../helpers/worker";

const route = "/api/v1/site/pages";
let org: string;

beforeAll(async () => {
  org = await createOrg();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function use(key: string): Promise<number> {
  return call(route, { headers: { "x-api-key": key } }).then((res) => res.status);
}

function breakD1(): void {
  vi.spyOn(env.DB, "withSession").mockImplementation(() => {
    throw new Error("D1_ERROR: database unavailable");
  });
}

/** The KV name a key's cache entry lives under. */
async function kvName(key: string): Promise<string> {
  return `key:v2:${await hashApiKey(key)}`;
}

async function cachedInKv(key: string): Promise<void> {
  const name = await kvName(key);
  await vi.waitFor(async () => expect(await env.KEY_CACHE.get(name)).not.toBeNull());
}

describe("key cache", () => {
  it("stops accepting a revoked key at once in the Worker that revoked it", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(200);
    expect(await use(key.key)).toBe(401);
  });

  it("does not let a read in flight during a revoke cache the key again", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const withSession = env.DB.withSession.bind(env.DB);
    const spy = vi.spyOn(env.DB, "withSession").mockImplementationOnce((constraint) => {
      const session = withSession(constraint);
      // The row is read at once (before the revoke) but handed back only after it.
      const held = (sql: string) => ({
        bind: (...values: unknown[]) => {
          const row = session.prepare(sql).bind(...values).first();
          return { first: async () => (await Promise.all([row, gate]))[0] };
        },
      });
      return { prepare: held } as unknown as D1DatabaseSession;
    });
    const inFlight = use(key.key);
    await vi.waitFor(() => expect(spy).toHaveBeenCalled());
    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(200);
    release();
    expect(await inFlight).toBe(200);
    expect(await use(key.key)).toBe(401);
  });

  it("applies narrowed scopes at once in the Worker that changed them", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "products:read"] });
    expect(await use(key.key)).toBe(200);
    expect((await admin("PATCH", `/keys/${key.id}`, { scopes: ["products:read"] })).status).toBe(200);
    expect(await use(key.key)).toBe(403);
  });

  it("keeps serving from memory while D1 is down", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    breakD1();
    expect(await use(key.key)).toBe(200);
  });

  it("serves from KV when this isolate's memory is cold and D1 is down", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    await cachedInKv(key.key);
    keyCache.clearMemory();
    breakD1();
    expect(await use(key.key)).toBe(200);
  });

  it("fails closed with 503 when D1 is down and the key is cached nowhere", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    breakD1();
    expect(await use(key.key)).toBe(503);
  });

  it("never uses a cached entry past its TTL, also when D1 is down", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    await cachedInKv(key.key);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    breakD1();
    expect(await use(key.key)).toBe(503);
  });

  it("sees a change made elsewhere once the TTL has passed", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    // Another Worker revoked it: D1 changed, this isolate was not told.
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), key.id).run();
    expect(await use(key.key)).toBe(200);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    expect(await use(key.key)).toBe(401);
  });

  it("remembers unknown keys in memory only, never in KV", async () => {
    const before = (await env.KEY_CACHE.list({ prefix: "key:" })).keys.length;
    const unknown = generateApiKey("live");
    const spy = vi.spyOn(env.DB, "withSession");
    expect(await use(unknown)).toBe(401);
    expect(await use(unknown)).toBe(401);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(await env.KEY_CACHE.get(`key:v2:${await hashApiKey(unknown)}`)).toBeNull();
    expect((await env.KEY_CACHE.list({ prefix: "key:" })).keys.length).toBe(before);
  });

  it("rejects malformed keys without reading KV or D1", async () => {
    const kv = vi.spyOn(env.KEY_CACHE, "get");
    const d1 = vi.spyOn(env.DB, "withSession");
    expect(await use(`${generateApiKey("live").slice(0, -2)}zz`)).toBe(401);
    expect(kv).not.toHaveBeenCalled();
    expect(d1).not.toHaveBeenCalled();
  });

  it("reads a KV entry of the wrong shape at a key's cache name as a miss, not a 500", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const name = await kvName(key.key);
    await env.KEY_CACHE.put(name, JSON.stringify({ cachedAt: Date.now(), value: { id: "key_x" } }));
    expect(await use(key.key)).toBe(200);
    keyCache.clearMemory();
    await env.KEY_CACHE.put(name, JSON.stringify({ cachedAt: Date.now(), value: { id: "key_x" } }));
    breakD1();
    expect(await use(key.key)).toBe(503);
  });

  it("reads corrupt JSON at a key's cache name as a miss", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    await env.KEY_CACHE.put(await kvName(key.key), '{"cachedAt": 1, "value": {');
    expect(await use(key.key)).toBe(200);
  });

  it("does not serve a KV entry stamped in the future: a key revoked in D1 is refused at once", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await use(key.key)).toBe(200);
    await cachedInKv(key.key);
    const name = await kvName(key.key);
    const entry = JSON.parse((await env.KEY_CACHE.get(name))!) as { cachedAt: number };
    await env.KEY_CACHE.put(name, JSON.stringify({ ...entry, cachedAt: Date.now() + 5 * 60_000 }));
    keyCache.clearMemory();
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), key.id).run();
    expect(await use(key.key)).toBe(401);
  });

  it("treats a KV outage as a miss and reads D1", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    vi.spyOn(env.KEY_CACHE, "get").mockRejectedValue(new Error("KV unavailable"));
    vi.spyOn(env.KEY_CACHE, "put").mockRejectedValue(new Error("KV unavailable"));
    expect(await use(key.key)).toBe(200);
  });
});
