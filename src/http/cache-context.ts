/**
 * @module
 * The {@link CacheContext} of one request.
 */
import type { Context } from "hono";
import type { CacheContext } from "../cache/tiered";
import { type Bindings, getConfig } from "../env";

/** Unknown keys are remembered briefly, so a key created elsewhere starts working soon. */
const NEGATIVE_TTL_MS = 10_000;

export function cacheContext<E extends { Bindings: Bindings }>(c: Context<E>): CacheContext {
  const ttlMs = getConfig(c.env).keyCacheTtlSeconds * 1000;
  return {
    kv: c.env.KEY_CACHE,
    ttlMs,
    negativeTtlMs: Math.min(NEGATIVE_TTL_MS, ttlMs),
    now: Date.now(),
    defer: (promise) => c.executionCtx.waitUntil(promise),
  };
}
