/**
 * The isolate-memory tier: bounded, least recently used first out, never past an entry's expiry.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryCache } from "../../src/cache/memory";

describe("MemoryCache", () => {
  it("never serves an entry at or after its expiry", () => {
    const cache = new MemoryCache<string>(10);
    cache.set("a", "A", 1_000, 0);
    expect(cache.get("a", 999)?.value).toBe("A");
    expect(cache.get("a", 1_000)).toBeUndefined();
    expect(cache.get("a", 0)).toBeUndefined();
  });

  it("evicts the least recently used entry when full", () => {
    const cache = new MemoryCache<number>(2);
    cache.set("a", 1, 10_000, 0);
    cache.set("b", 2, 10_000, 0);
    expect(cache.get("a", 2_000)?.value).toBe(1);
    cache.set("c", 3, 10_000, 2_000);
    expect(cache.get("b", 2_000)).toBeUndefined();
    expect(cache.get("a", 2_000)?.value).toBe(1);
    expect(cache.get("c", 2_000)?.value).toBe(3);
  });

  it("evicts the oldest 1% of a large full cache at once and keeps the most recent entries", () => {
    const cache = new MemoryCache<number>(1_000);
    for (let i = 0; i < 1_001; i++) cache.set(`k${i}`, i, 10_000, 0);
    const held = Array.from({ length: 1_001 }, (_, i) => cache.get(`k${i}`, 0) !== undefined);
    expect(held.slice(0, 10)).toEqual(Array(10).fill(false));
    expect(held.slice(10).every(Boolean)).toBe(true);
  });

  it("never holds more than maxEntries", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 200 }), (max, keys) => {
        const cache = new MemoryCache<string>(max);
        keys.forEach((key, i) => cache.set(key, key, 1_000_000, i));
        const live = new Set(keys).size;
        const held = [...new Set(keys)].filter((key) => cache.get(key, keys.length) !== undefined).length;
        expect(held).toBe(Math.min(live, max));
      }),
    );
  });
});
