/**
 * @module
 * A bounded LRU map with per-entry expiry, private to one isolate. A hit moves its entry to the
 * recent end at most once a second: moving means a Map delete and insert, which on the hot path
 * cost more than the lookup itself, and recency finer than a second changes no eviction that
 * matters for entries that live at most a minute.
 */

interface Slot<T> {
  value: T;
  expiresAt: number;
  touchedAt: number;
}

const TOUCH_INTERVAL_MS = 1_000;
/**
 * A full cache evicts its oldest 1% at once. Finding the oldest entry walks past every entry deleted
 * since the Map last compacted (V8 leaves them in place), so evicting one entry per miss cost a
 * full cache of 10,000 about 6 µs per miss; one walk per hundred misses does not.
 */
const EVICT_SHARE = 0.01;

export class MemoryCache<T> {
  readonly #slots = new Map<string, Slot<T>>();

  readonly #evictCount: number;

  constructor(readonly maxEntries: number) {
    this.#evictCount = Math.max(1, Math.floor(maxEntries * EVICT_SHARE));
  }

  /** The live value for `key`, or `undefined` on a miss or after its expiry. */
  get(key: string, now: number): { value: T } | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= now) {
      this.#slots.delete(key);
      return undefined;
    }
    if (now - slot.touchedAt >= TOUCH_INTERVAL_MS) {
      slot.touchedAt = now;
      this.#slots.delete(key);
      this.#slots.set(key, slot);
    }
    return slot;
  }

  set(key: string, value: T, expiresAt: number, now = Date.now()): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt, touchedAt: now });
    if (this.#slots.size > this.maxEntries) {
      let evicted = 0;
      for (const oldest of this.#slots.keys()) {
        this.#slots.delete(oldest);
        if (++evicted >= this.#evictCount) break;
      }
    }
  }

  delete(key: string): void {
    this.#slots.delete(key);
  }

  /** Deletes every entry whose key starts with `prefix` (a scan: for rare invalidations only). */
  deletePrefix(prefix: string): void {
    for (const key of this.#slots.keys()) {
      if (key.startsWith(prefix)) this.#slots.delete(key);
    }
  }

  clear(): void {
    this.#slots.clear();
  }
}
