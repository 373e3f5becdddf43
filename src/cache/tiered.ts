/**
 * @module
 * Read-through cache in three tiers: isolate memory, then KV, then the source of truth (D1).
 *
 * Every entry carries the time it was read from D1, and no tier serves it past that time plus the
 * TTL by the reading isolate's clock, whichever tier it comes from and whether or not D1 is
 * reachable. A KV entry is only trusted when it has the namespace's shape and a stamp that is not
 * in the reader's future; anything else (corrupt JSON, another version's or a foreign entry, a
 * skewed writer's clock) is a miss, never an error. That bounds how long a
 * revoked or changed record can be served anywhere by the TTL. In the isolate that made a change,
 * `invalidate` takes effect at once: a read that was already in flight when it ran does not store
 * what it read. Known absences are cached in memory only, in their own small LRU, so a burst of
 * unknown ids can neither fill KV nor evict the entries of real keys. Concurrent misses of one id
 * each read D1, but only the first writes KV while its write is in flight (KV takes one write per
 * key per second, and each write costs a subrequest); a change to the id lifts that, so what is
 * read after the change is written.
 *
 * Ids may be grouped: `<group>/<rest>` (a user's memberships per project, say). `invalidateGroup`
 * drops every id of a group at once, with the same guarantees as `invalidate`.
 */
import type { z } from "zod";
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
/** Bumped whenever the stored shape changes, so a deploy never reads another version's entries. */
const KV_SCHEMA = "v2";
/** Invalidation stamps outlive any read that could have started before them. */
const INVALIDATION_MEMORY_MS = 5 * 60_000;
/** A write-back that has not settled by then no longer holds back the next one of its id. */
const WRITE_IN_FLIGHT_MS = 10_000;

export interface TieredCacheOptions<Stored, Live> {
  /** KV key prefix and memory key prefix, e.g. `key`. */
  namespace: string;
  maxEntries: number;
  /** The shape of the stored form: a KV value that does not parse is a miss. */
  schema: z.ZodType<Stored>;
  /** Turns the stored form into the form requests use (compiled matchers and the like). */
  compile(stored: Stored): Live;
}

export class TieredCache<Stored, Live> {
  readonly #found: MemoryCache<Live>;
  readonly #absent: MemoryCache<true>;
  readonly #invalidatedAt: MemoryCache<number>;
  /** The KV write-back in flight per id (its own token, so a newer one is never cleared by an older). */
  readonly #writing: MemoryCache<object>;

  constructor(readonly options: TieredCacheOptions<Stored, Live>) {
    this.#found = new MemoryCache(options.maxEntries);
    this.#absent = new MemoryCache(Math.ceil(options.maxEntries / 10));
    this.#invalidatedAt = new MemoryCache(options.maxEntries);
    this.#writing = new MemoryCache(options.maxEntries);
  }

  /**
   * The entry for `id`, `null` for a known absence. Concurrent misses are not merged: a read
   * belongs to its request, and a request cancelled mid-read would leave the others waiting.
   * @throws {KeygateError} `UNAVAILABLE` when no tier has a fresh entry and `load` fails.
   */
  async get(ctx: CacheContext, id: string, load: () => Promise<Stored | null>): Promise<Live | null> {
    const key = this.#key(id);
    const found = this.#found.get(key, ctx.now);
    if (found) return found.value;
    if (this.#absent.get(key, ctx.now)) return null;
    return this.#readThrough(ctx, key, load);
  }

  /**
   * Drops `id` from this isolate's memory and from KV, so the next read goes to D1, and keeps
   * reads already in flight from storing what they read. A KV failure is logged, not thrown: the
   * change is already in D1, and the TTL still bounds what KV can serve.
   */
  async invalidate(kv: KVNamespace, id: string): Promise<void> {
    const key = this.#key(id);
    const now = Date.now();
    this.#invalidatedAt.set(key, now, now + INVALIDATION_MEMORY_MS);
    this.#found.delete(key);
    this.#absent.delete(key);
    this.#writing.delete(key);
    try {
      await kv.delete(key);
    } catch (error) {
      this.#log("kv delete failed", error);
    }
  }

  /**
   * {@link invalidate} for every id `<group>/…`. KV keys are found by listing, which may miss a
   * key written moments ago elsewhere; this isolate still refuses such an entry (its stamp is older
   * than the group's invalidation), and the TTL bounds it everywhere else.
   */
  async invalidateGroup(kv: KVNamespace, group: string): Promise<void> {
    const prefix = this.#key(`${group}/`);
    const now = Date.now();
    this.#invalidatedAt.set(prefix, now, now + INVALIDATION_MEMORY_MS);
    this.#found.deletePrefix(prefix);
    this.#absent.deletePrefix(prefix);
    this.#writing.deletePrefix(prefix);
    try {
      let cursor: string | undefined;
      do {
        const page: KVNamespaceListResult<unknown, string> = await kv.list({ prefix, ...(cursor && { cursor }) });
        await Promise.all(page.keys.map((key) => kv.delete(key.name)));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
    } catch (error) {
      this.#log("kv delete failed", error);
    }
  }

  /** Forgets every memory entry of this isolate (KV is untouched). */
  clearMemory(): void {
    this.#found.clear();
    this.#absent.clear();
  }

  async #readThrough(ctx: CacheContext, key: string, load: () => Promise<Stored | null>): Promise<Live | null> {
    const cached = this.#servable(ctx, key, await this.#readKv(ctx, key));
    if (cached) {
      this.#found.set(key, cached.live, cached.cachedAt + ctx.ttlMs);
      return cached.live;
    }

    let stored: Stored | null;
    try {
      stored = await load();
    } catch (error) {
      this.#log("auth backend read failed", error, "error");
      throw KeygateError.unavailable();
    }
    // A change made while this read was in flight wins: answer this request, store nothing.
    const stale = this.#invalidatedSince(key, ctx.now);
    if (stored === null) {
      if (!stale) this.#absent.set(key, true, ctx.now + ctx.negativeTtlMs);
      return null;
    }
    const live = this.options.compile(stored);
    if (!stale) {
      this.#found.set(key, live, ctx.now + ctx.ttlMs);
      if (!this.#writing.get(key, Date.now())) ctx.defer(this.#writeKv(ctx, key, { cachedAt: ctx.now, value: stored }));
    }
    return live;
  }

  /** A KV entry compiled, when it may be served now; `undefined` (a miss) otherwise. */
  #servable(ctx: CacheContext, key: string, entry: unknown): { cachedAt: number; live: Live } | undefined {
    if (typeof entry !== "object" || entry === null) return undefined;
    const { cachedAt, value } = entry as Partial<KvEntry<unknown>>;
    if (typeof cachedAt !== "number" || !Number.isFinite(cachedAt)) return this.#ignore("kv entry without a time");
    // A stamp ahead of this isolate's clock would stretch the entry's life past the TTL.
    if (cachedAt > ctx.now) return this.#ignore("kv entry stamped in the future");
    if (cachedAt + ctx.ttlMs <= ctx.now || this.#invalidatedSince(key, cachedAt)) return undefined;
    const parsed = this.options.schema.safeParse(value);
    if (!parsed.success) return this.#ignore("kv entry of the wrong shape");
    try {
      return { cachedAt, live: this.options.compile(parsed.data) };
    } catch (error) {
      return this.#ignore("kv entry does not compile", error);
    }
  }

  #ignore(msg: string, error?: unknown): undefined {
    this.#log(`${msg}, read as a miss`, error);
    return undefined;
  }

  #invalidatedSince(key: string, time: number): boolean {
    const now = Date.now();
    const slash = key.indexOf("/");
    const group = slash < 0 ? undefined : this.#invalidatedAt.get(key.slice(0, slash + 1), now);
    const at = this.#invalidatedAt.get(key, now);
    return (at !== undefined && at.value >= time) || (group !== undefined && group.value >= time);
  }

  #key(id: string): string {
    return `${this.options.namespace}:${KV_SCHEMA}:${id}`;
  }

  /** The parsed KV value, unchecked; `null` when absent, unreadable or not JSON. */
  async #readKv(ctx: CacheContext, key: string): Promise<unknown> {
    const cacheTtl = Math.max(KV_MIN_CACHE_TTL_S, Math.ceil(ctx.ttlMs / 1000));
    try {
      return await ctx.kv.get<unknown>(key, { type: "json", cacheTtl });
    } catch (error) {
      this.#log("kv read failed", error);
      return null;
    }
  }

  async #writeKv(ctx: CacheContext, key: string, entry: KvEntry<Stored>): Promise<void> {
    const expirationTtl = Math.max(KV_MIN_EXPIRATION_S, Math.ceil(ctx.ttlMs / 1000));
    const token = {};
    this.#writing.set(key, token, Date.now() + WRITE_IN_FLIGHT_MS);
    try {
      await ctx.kv.put(key, JSON.stringify(entry), { expirationTtl });
    } catch (error) {
      this.#log("kv write failed", error);
    } finally {
      if (this.#writing.get(key, Date.now())?.value === token) this.#writing.delete(key);
    }
  }

  #log(msg: string, error: unknown, level: "warn" | "error" = "warn"): void {
    const cause = error === undefined ? {} : { error: String(error) };
    console[level](JSON.stringify({ level, msg, cache: this.options.namespace, ...cause }));
  }
}
