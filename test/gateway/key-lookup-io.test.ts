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
import { BASE, createKey, createOrg } from "../helpers/worker";

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
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${route}`, { headers: { "x-api-key": key } }), env, ctx);
  await waitOnExecutionContext(ctx);
  io.status = res.status;
  vi.restoreAllMocks();
  return io;
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
