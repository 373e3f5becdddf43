/**
 * @module
 * The `approximate` tier: the Workers Rate Limiting binding, which counts per Cloudflare location,
 * in fixed periods of 10 or 60 s, against one limit configured per binding. Every key gets its own
 * limit out of one binding by scaling: the binding's limit is `APPROXIMATE_SCALE` (1,000,000), and a
 * request counts `cost * ceil(SCALE / limit)` (the binding admits while its counter is below the
 * limit). The binding checks its counter before adding `delta`, so a request of several units
 * first adds all but its last unit and is admitted only if the last one still fits: at most
 * `limit` units per period and location, never more (a refused request's units still count), and
 * within 2 % of it for every limit the schema accepts (src/core/approximate-scale.ts).
 *
 * The binding tells only "allowed or not", so the remaining count in the headers is this isolate's
 * own tally: an upper bound of what is left. It fails open: an error lets the request through.
 */
import { approximateUnitDelta } from "../core/approximate-scale";
import type { Bindings } from "../env";
import { MemoryCache } from "../cache/memory";
import type { RateLimitRule } from "../schemas/key";
import type { CounterState } from "./exact-limiter";

/** Units this isolate counted per (counter, limit, period start). */
const tallies = new MemoryCache<number>(10_000);

/**
 * Counts one request of `units` against `limit` for `counterId`.
 * @returns The limit's state; allowed when the binding fails (logged, no key material).
 */
export async function checkApproximate(env: Bindings, counterId: string, limit: RateLimitRule, units: number, now: number): Promise<CounterState> {
  const periodMs = limit.window_s * 1000;
  const periodStart = Math.floor(now / periodMs) * periodMs;
  const resetMs = periodStart + periodMs - now;
  const key = `${counterId}:${limit.name}`;
  const tallyKey = `${key}:${limit.window_s}:${periodStart}`;
  const tally = tallies.get(tallyKey, now)?.value ?? 0;
  let allowed: boolean;
  try {
    allowed = units <= limit.limit && (await admits(bindingFor(env, limit.window_s), key, units, approximateUnitDelta(limit.limit)));
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", msg: "approximate rate limit unavailable: allowed", counter: counterId, error: String(error) }));
    allowed = true;
  }
  if (!allowed) {
    // The binding's period may start elsewhere than ours: a full period is never too early.
    return { name: limit.name, allowed, used: limit.limit, remaining: 0, resetMs: periodMs };
  }
  const used = Math.min(limit.limit, tally + units);
  tallies.set(tallyKey, used, periodStart + periodMs, now);
  return { name: limit.name, allowed, used, remaining: limit.limit - used, resetMs };
}

/** Whether all `units` (each worth `unitDelta` of the binding's scale) fit under the binding's limit. */
async function admits(binding: RateLimit, key: string, units: number, unitDelta: number): Promise<boolean> {
  if (units > 1 && !(await binding.limit({ key, delta: (units - 1) * unitDelta })).success) return false;
  return (await binding.limit({ key, delta: unitDelta })).success;
}

function bindingFor(env: Bindings, windowS: number): RateLimit {
  return windowS === 10 ? env.RATE_LIMIT_10S : env.RATE_LIMIT_60S;
}
