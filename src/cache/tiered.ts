/**
 * @module
 * Read-through cache in three tiers: isolate memory, then KV, then the source of truth (D1).
 *
 * Every entry carries the time it was read from D1, and no tier serves it past that time plus the
 * TTL, whichever tier it comes from and whether or not D1 is reachable. That bounds how long a
 * revoked or changed record can be served anywhere by the TTL. Known absences are cached in memory
 * only, never in KV, so a burst of unknown ids cannot fill KV.
 */
import { KeygateError } from "../errors";
import { MemoryCache } from "./memory";

/** What a cache read needs from the request: the KV binding, TTLs and `waitUntil`. */
export interface CacheContext {
  kv: KVNamespace;
  ttlMs: number;
  negativeTtlMs: number;
  now: number;
  defer(promise: Promise<unknown>): void;
}

interface KvEntry<Stored> {
  cachedAt: number;
  value: Stored;
}

/** KV refuses expirationTtl below 60 s and cacheTtl below 30 s. */
const KV_MIN_EXPIRATION_S = 60;
const KV_MIN_CACHE_TTL_S = 30;
const RETRY_AFTER_S = "5";

export interface TieredCacheOptions<Stored, Live> {
  /** KV key prefix and memory key prefix, e.g. `key`. */
  namespace: string;
  maxEntries: number;
  /** Turns the stored form into the form requests use (compiled matchers and the like). */
  compile(stored: Stored): Live;
}

export class TieredCache<Stored, Live> {
  readonly #memory: MemoryCache<Live | null>;

  constructor(readonly options: TieredCacheOptions<Stored, Live>) {
    this.#memory = new MemoryCache(options.maxEntries);
  }

  /**
   * The entry for `id`, `null` for a known absence.
   * @throws {KeygateError} `UNAVAILABLE` when no tier has a fresh entry and `load` fails.
   */
  async get(ctx: CacheContext, id: string, load: () => Promise<Stored | null>): Promise<Live | null> {
    const key = this.#kvKey(id);
    const hit = this.#memory.get(key, ctx.now);
    if (hit) return hit.value;

    const cached = await this.#readKv(ctx, key);
    if (cached && cached.cachedAt + ctx.ttlMs > ctx.now) {
      return this.#remember(key, this.options.compile(cached.value), cached.cachedAt + ctx.ttlMs);
    }

    let stored: Stored | null;
    try {
      stored = await load();
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "auth backend read failed", cache: this.options.namespace, error: String(error) }));
      throw new KeygateError("UNAVAILABLE", "auth backend unavailable", { headers: { "Retry-After": RETRY_AFTER_S } });
    }
    if (stored === null) return this.#remember(key, null, ctx.now + ctx.negativeTtlMs);

    const entry: KvEntry<Stored> = { cachedAt: ctx.now, value: stored };
    ctx.defer(this.#writeKv(ctx, key, entry));
    return this.#remember(key, this.options.compile(stored), ctx.now + ctx.ttlMs);
  }

  /** Drops `id` from this isolate's memory and from KV, so the next read goes to D1. */
  async invalidate(kv: KVNamespace, id: string): Promise<void> {
    const key = this.#kvKey(id);
    this.#memory.delete(key);
    await kv.delete(key);
  }

  /** Forgets every memory entry of this isolate (KV is untouched). */
  clearMemory(): void {
    this.#memory.clear();
  }

  #kvKey(id: string): string {
    return `${this.options.namespace}:${id}`;
  }

  #remember(key: string, value: Live | null, expiresAt: number): Live | null {
    this.#memory.set(key, value, expiresAt);
    return value;
  }

  async #readKv(ctx: CacheContext, key: string): Promise<KvEntry<Stored> | null> {
    const cacheTtl = Math.max(KV_MIN_CACHE_TTL_S, Math.ceil(ctx.ttlMs / 1000));
    try {
      return await ctx.kv.get<KvEntry<Stored>>(key, { type: "json", cacheTtl });
    } catch (error) {
      console.warn(JSON.stringify({ level: "warn", msg: "kv read failed", cache: this.options.namespace, error: String(error) }));
      return null;
    }
  }

  async #writeKv(ctx: CacheContext, key: string, entry: KvEntry<Stored>): Promise<void> {
    const expirationTtl = Math.max(KV_MIN_EXPIRATION_S, Math.ceil(ctx.ttlMs / 1000));
    try {
      await ctx.kv.put(key, JSON.stringify(entry), { expirationTtl });
    } catch (error) {
      console.warn(JSON.stringify({ level: "warn", msg: "kv write failed", cache: this.options.namespace, error: String(error) }));
    }
  }
}
