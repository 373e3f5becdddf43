/**
 * The storage round trips of an API-key request (issue 13): each tier answers with as few calls as
 * it can, counted on the real local bindings through the Worker's fetch. A memory hit touches no
 * storage, a KV hit reads KV once and writes nothing, a cold key costs one KV read, one D1 query and
 * one KV write (in `waitUntil`), and an unknown key is looked up once per negative-cache window.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { keyCache } from "../../src/credentials/key-cache";
import { generateApiKey } from "../../src/core/api-key";
import { admin, BASE, call, createKey, createOrg } from "../helpers/worker";

const route = "/api/v1/site/pages";
let org: string;

beforeAll(async () => {
  org = await createOrg();
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface Io {
  status: number;
  kvGets: number;
  kvPuts: number;
  /** SELECTs on api_keys, through any D1 handle (the binding or a session). */
  keyQueries: number;
}

function countKeyQueries(db: D1Database | D1DatabaseSession, io: Io): void {
  const prepare = db.prepare.bind(db);
  vi.spyOn(db, "prepare").mockImplementation((sql: string) => {
    if (/^\s*SELECT\b[\s\S]*\bFROM api_keys\b/i.test(sql)) io.keyQueries++;
    return prepare(sql);
  });
}

/** One request with `key`, run to the end of its `waitUntil` work, and the storage calls it made. */
async function request(key: string): Promise<Io> {
  const io: Io = { status: 0, kvGets: 0, kvPuts: 0, keyQueries: 0 };
  const get = env.KEY_CACHE.get.bind(env.KEY_CACHE) as (...args: unknown[]) => Promise<unknown>;
  const put = env.KEY_CACHE.put.bind(env.KEY_CACHE);
  vi.spyOn(env.KEY_CACHE, "get").mockImplementation(((...args: unknown[]) => (io.kvGets++, get(...args))) as KVNamespace["get"]);
  vi.spyOn(env.KEY_CACHE, "put").mockImplementation((...args) => (io.kvPuts++, put(...args)));
  countKeyQueries(env.DB, io);
  const withSession = env.DB.withSession.bind(env.DB);
  vi.spyOn(env.DB, "withSession").mockImplementation((constraint) => {
    const session = withSession(constraint);
    countKeyQueries(session, io);
    return session;
  });
  io.status = await runToEnd(key);
  vi.restoreAllMocks();
  return io;
}

/** The status of one request with `key`, once its `waitUntil` work (the KV write-back) is done. */
async function runToEnd(key: string): Promise<number> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${route}`, { headers: { "x-api-key": key } }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res.status;
}

describe("storage round trips of an API-key request", () => {
  it("reads a cold key with one KV read and one D1 query, and writes it to KV once", async () => {
    const { key } = await createKey({ org_id: org, scopes: ["content:read"] });
    keyCache.clearMemory();
    expect(await request(key)).toEqual({ status: 200, kvGets: 1, kvPuts: 1, keyQueries: 1 });
  });

  it("answers a KV hit with one KV read: no D1 query and no KV write", async () => {
    const { key } = await createKey({ org_id: org, scopes: ["content:read"] });
    await request(key);
    keyCache.clearMemory();
    expect(await request(key)).toEqual({ status: 200, kvGets: 1, kvPuts: 0, keyQueries: 0 });
  });

  it("answers a memory hit without any KV or D1 call", async () => {
    const { key } = await createKey({ org_id: org, scopes: ["content:read"] });
    await request(key);
    expect(await request(key)).toEqual({ status: 200, kvGets: 0, kvPuts: 0, keyQueries: 0 });
  });

  it("looks an unknown key up once (one KV read, one D1 query, no write), then answers from memory", async () => {
    const unknown = generateApiKey("live");
    expect(await request(unknown)).toEqual({ status: 401, kvGets: 1, kvPuts: 0, keyQueries: 1 });
    expect(await request(unknown)).toEqual({ status: 401, kvGets: 0, kvPuts: 0, keyQueries: 0 });
  });
});

/** Holds every KV read until `count` have started, so that many requests miss memory together. */
function holdKvReads(count: number): void {
  const get = env.KEY_CACHE.get.bind(env.KEY_CACHE) as (...args: unknown[]) => Promise<unknown>;
  let started = 0;
  let releaseReads!: () => void;
  const allStarted = new Promise<void>((resolve) => (releaseReads = resolve));
  vi.spyOn(env.KEY_CACHE, "get").mockImplementation((async (...args: unknown[]) => {
    if (++started >= count) releaseReads();
    await Promise.race([allStarted, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    return get(...args);
  }) as KVNamespace["get"]);
}

/** Holds KV writes until `release` is called; returns the spy counting them. */
function holdKvWrites() {
  const put = env.KEY_CACHE.put.bind(env.KEY_CACHE);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const spy = vi.spyOn(env.KEY_CACHE, "put").mockImplementation(async (...args) => {
    await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    return put(...args);
  });
  return { spy, release };
}

describe("KV write-back of concurrent cold reads", () => {
  it("writes a key that concurrent requests read cold to KV once", async () => {
    const { key } = await createKey({ org_id: org, scopes: ["content:read"] });
    keyCache.clearMemory();
    holdKvReads(3);
    const writes = holdKvWrites();
    const statuses = await Promise.all([1, 2, 3].map(() => call(route, { headers: { "x-api-key": key } }).then((res) => res.status)));
    expect(statuses).toEqual([200, 200, 200]);
    writes.release();
    expect(writes.spy).toHaveBeenCalledTimes(1);
  });

  it("writes a key changed while its write-back is in flight again, with the new state", async () => {
    const created = await createKey({ org_id: org, scopes: ["content:read", "products:read"] });
    keyCache.clearMemory();
    const writes = holdKvWrites();
    expect((await call(route, { headers: { "x-api-key": created.key } })).status).toBe(200);
    expect(writes.spy).toHaveBeenCalledTimes(1);
    expect((await admin("PATCH", `/keys/${created.id}`, { scopes: ["products:read"] })).status).toBe(200);
    expect((await call(route, { headers: { "x-api-key": created.key } })).status).toBe(403);
    expect(writes.spy).toHaveBeenCalledTimes(2);
    const [, written] = writes.spy.mock.calls[1]!;
    expect(JSON.parse(String(written)).value.scopes).toEqual(["products:read"]);
    writes.release();
  });

  it("writes the key again on its next cold read after a write-back failed", async () => {
    const { key } = await createKey({ org_id: org, scopes: ["content:read"] });
    keyCache.clearMemory();
    const failed = vi.spyOn(env.KEY_CACHE, "put").mockRejectedValue(new Error("KV unavailable"));
    expect(await runToEnd(key)).toBe(200);
    expect(failed).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    keyCache.clearMemory();
    expect(await request(key)).toEqual({ status: 200, kvGets: 1, kvPuts: 1, keyQueries: 1 });
  });
});
