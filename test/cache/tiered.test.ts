/**
 * The tiered cache's KV tier trusts only entries it could have written itself, by the reading
 * isolate's clock (issue: a foreign, corrupt or future-stamped entry answered 500 or outlived the TTL).
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { type CacheContext, TieredCache } from "../../src/cache/tiered";

const TTL_MS = 60_000;

let namespace = 0;
function cache() {
  return new TieredCache<{ n: number }, { double: number }>({
    namespace: `tiered-test-${++namespace}`,
    maxEntries: 10,
    schema: z.object({ n: z.number() }),
    compile: ({ n }) => {
      if (n < 0) throw new RangeError("negative");
      return { double: n * 2 };
    },
  });
}

function context(now = Date.now()): CacheContext {
  return { kv: env.KEY_CACHE, ttlMs: TTL_MS, negativeTtlMs: 1_000, now, defer: () => {} };
}

/** The KV name of the entry `id` (the cache's versioned key). */
const kvName = (c: ReturnType<typeof cache>) => `${c.options.namespace}:v2:id`;

async function withKvEntry(c: ReturnType<typeof cache>, raw: string): Promise<void> {
  await env.KEY_CACHE.put(kvName(c), raw);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("TieredCache KV entries", () => {
  it("serves a well-formed, fresh entry without loading", async () => {
    const c = cache();
    await withKvEntry(c, JSON.stringify({ cachedAt: Date.now() - 1_000, value: { n: 2 } }));
    const load = vi.fn(async () => ({ n: 5 }));
    expect(await c.get(context(), "id", load)).toEqual({ double: 4 });
    expect(load).not.toHaveBeenCalled();
  });

  it.each([
    ["a value of the wrong shape", JSON.stringify({ cachedAt: Date.now(), value: { id: "key_x" } })],
    ["corrupt JSON", '{"cachedAt": 1, "value": {'],
    ["JSON that is not an entry", "[1, 2, 3]"],
    ["JSON null", "null"],
    ["a cachedAt that is not a number", JSON.stringify({ cachedAt: "2026-01-01", value: { n: 1 } })],
    ["a value that does not compile", JSON.stringify({ cachedAt: Date.now(), value: { n: -1 } })],
  ])("reads %s as a miss and loads from the source", async (_name, raw) => {
    const c = cache();
    await withKvEntry(c, raw);
    expect(await c.get(context(), "id", async () => ({ n: 5 }))).toEqual({ double: 10 });
  });

  it("reads an entry stamped in the reader's future as a miss", async () => {
    const c = cache();
    await withKvEntry(c, JSON.stringify({ cachedAt: Date.now() + 5 * 60_000, value: { n: 1 } }));
    expect(await c.get(context(), "id", async () => ({ n: 5 }))).toEqual({ double: 10 });
  });

  it("never serves an entry past cachedAt + TTL by the reader's clock, also when the source is down", async () => {
    const c = cache();
    const now = Date.now();
    await withKvEntry(c, JSON.stringify({ cachedAt: now - TTL_MS, value: { n: 1 } }));
    const down = async (): Promise<{ n: number }> => {
      throw new Error("D1 down");
    };
    await expect(c.get(context(now), "id", down)).rejects.toMatchObject({ code: "UNAVAILABLE", status: 503 });
  });

  it("answers 503, not 500, for a corrupt entry while the source is down", async () => {
    const c = cache();
    await withKvEntry(c, JSON.stringify({ cachedAt: Date.now(), value: { id: "key_x" } }));
    await expect(
      c.get(context(), "id", async () => {
        throw new Error("D1 down");
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("keeps a served KV entry in memory only until its own cachedAt + TTL", async () => {
    const c = cache();
    const now = Date.now();
    await withKvEntry(c, JSON.stringify({ cachedAt: now - TTL_MS + 1_000, value: { n: 1 } }));
    expect(await c.get(context(now), "id", async () => ({ n: 5 }))).toEqual({ double: 2 });
    await env.KEY_CACHE.delete(kvName(c));
    expect(await c.get(context(now + 1_000), "id", async () => ({ n: 5 }))).toEqual({ double: 10 });
  });
});
