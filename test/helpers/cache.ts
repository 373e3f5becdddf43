/**
 * A {@link CacheContext} outside any request, for calling verification functions directly.
 */
import { env } from "cloudflare:workers";
import type { CacheContext } from "../../src/cache/tiered";

export function createCacheContextForTest(): CacheContext {
  return { kv: env.KEY_CACHE, ttlMs: 60_000, negativeTtlMs: 10_000, now: Date.now(), defer: () => undefined };
}
