/**
 * @module
 * A key's current rate-limit and quota usage, for the admin API and the console's key page. It
 * reads the exact tier's counters without counting; the approximate tier keeps its counts per
 * Cloudflare location and offers no read, so its `used` is `null`.
 */
import type { Bindings } from "../env";
import type { KeyRecord, KeyUsage } from "../schemas/key";
import { readUsage } from "./check";
import { ceilSeconds } from "./sliding-window";

/**
 * @throws {KeygateError} 503 when the exact tier is unreachable.
 * @example await keyUsage(env, record); // { rate_limits: [{ name: "burst", …, used: 3, remaining: 97, reset_s: 41 }], quota: null }
 */
export async function keyUsage(env: Bindings, record: KeyRecord): Promise<KeyUsage> {
  const counters = await readUsage(env, { counterId: record.rotation_root_id, rateLimits: record.rate_limits, quota: record.quota });
  const states = new Map((counters?.limits ?? []).map((state) => [state.name, state]));
  const quota = counters?.quota;
  return {
    rate_limits: record.rate_limits.map((limit) => {
      const state = limit.tier === "exact" ? states.get(limit.name) : undefined;
      return { ...limit, used: state?.used ?? null, remaining: state?.remaining ?? null, reset_s: state ? ceilSeconds(state.resetMs) : null };
    }),
    quota: record.quota && quota ? { ...record.quota, used: quota.used, remaining: quota.remaining, reset_s: ceilSeconds(quota.resetMs) } : null,
  };
}
