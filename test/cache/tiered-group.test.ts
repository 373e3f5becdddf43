/**
 * TieredCache groups: `invalidateGroup` drops every id `<group>/…` from memory and KV at once, keeps
 * in-flight reads from storing, and leaves other groups alone.
 */
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { type CacheContext, TieredCache } from "../../src/cache/tiered";

function context(): CacheContext & { deferred: Promise<unknown>[] } {
  const deferred: Promise<unknown>[] = [];
  return { kv: env.KEY_CACHE, ttlMs: 60_000, negativeTtlMs: 10_000, now: Date.now(), defer: (p) => deferred.push(p), deferred };
}

async function read(cache: TieredCache<string, string>, id: string, value: string | null): Promise<string | null> {
  const ctx = context();
  const found = await cache.get(ctx, id, async () => value);
  await Promise.all(ctx.deferred);
  return found;
}

describe("TieredCache.invalidateGroup", () => {
  it("drops every id of the group from memory and KV, and no other group's", async () => {
    const cache = new TieredCache<string, string>({ namespace: `group-${crypto.randomUUID()}`, maxEntries: 100, schema: z.string(), compile: (s) => s });
    await read(cache, "usr_a/project/p1", "A1");
    await read(cache, "usr_a/only", "A");
    await read(cache, "usr_ab/only", "AB");
    await cache.invalidateGroup(env.KEY_CACHE, "usr_a");
    expect(await read(cache, "usr_a/project/p1", "fresh A1")).toBe("fresh A1");
    expect(await read(cache, "usr_a/only", "fresh A")).toBe("fresh A");
    expect(await read(cache, "usr_ab/only", "fresh AB")).toBe("AB");
    const { keys } = await env.KEY_CACHE.list({ prefix: `${cache.options.namespace}:` });
    expect(keys).toHaveLength(3);
  });

  it("drops known absences of the group too", async () => {
    const cache = new TieredCache<string, string>({ namespace: `group-${crypto.randomUUID()}`, maxEntries: 100, schema: z.string(), compile: (s) => s });
    expect(await read(cache, "usr_a/only", null)).toBeNull();
    await cache.invalidateGroup(env.KEY_CACHE, "usr_a");
    expect(await read(cache, "usr_a/only", "now a member")).toBe("now a member");
  });

  it("keeps a read that was in flight when the group was invalidated from storing what it read", async () => {
    const cache = new TieredCache<string, string>({ namespace: `group-${crypto.randomUUID()}`, maxEntries: 100, schema: z.string(), compile: (s) => s });
    const ctx = context();
    const inFlight = cache.get(ctx, "usr_a/only", async () => {
      await cache.invalidateGroup(env.KEY_CACHE, "usr_a");
      return "stale";
    });
    expect(await inFlight).toBe("stale");
    await Promise.all(ctx.deferred);
    expect(await read(cache, "usr_a/only", "fresh")).toBe("fresh");
  });

  it("refuses a KV entry of the group from before the invalidation that the KV listing missed", async () => {
    const cache = new TieredCache<string, string>({ namespace: `group-${crypto.randomUUID()}`, maxEntries: 100, schema: z.string(), compile: (s) => s });
    await read(cache, "usr_a/only", "before");
    const list = vi.spyOn(env.KEY_CACHE, "list").mockResolvedValue({ keys: [], list_complete: true, cacheStatus: null });
    await cache.invalidateGroup(env.KEY_CACHE, "usr_a");
    list.mockRestore();
    cache.clearMemory();
    expect(await read(cache, "usr_a/only", "fresh")).toBe("fresh");
  });
});
