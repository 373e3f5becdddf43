/**
 * @module
 * What "no looser than the creator's" means for rate limits and quotas (SPEC §11). A child key has
 * its own counters, so each of the creator's limits must reappear on the child (same name) at
 * most as generous: no more units per window (`limit / cost`), no higher rate (units per second),
 * and an `exact` limit stays `exact` (an approximate one may overshoot across locations).
 */
import type { Issue } from "../errors";
import type { Quota, RateLimitRule } from "../schemas/key";

export interface Limits {
  rateLimits: readonly RateLimitRule[];
  quota: Quota | null;
}

/**
 * Why `child` is looser than `parent`, one issue per offending entry; empty when it only narrows.
 * @example
 * looserLimits({ rateLimits: [], quota: null }, { rateLimits: [burst], quota: null });
 * // [{ path: "rate_limits", message: `drops the creator's limit "burst"` }]
 */
export function looserLimits(child: Limits, parent: Limits): Issue[] {
  const issues: Issue[] = [];
  for (const held of parent.rateLimits) {
    const index = child.rateLimits.findIndex((limit) => limit.name === held.name);
    const limit = child.rateLimits[index];
    if (!limit) {
      issues.push({ path: "rate_limits", message: `drops the creator's limit "${held.name}"` });
      continue;
    }
    const why = looserThan(limit, held);
    if (why) issues.push({ path: `rate_limits.${index}`, message: `"${limit.name}" ${why} than the creator's` });
  }
  if (parent.quota) {
    if (!child.quota) issues.push({ path: "quota", message: "drops the creator's quota" });
    else if (child.quota.limit > parent.quota.limit) issues.push({ path: "quota.limit", message: "is more than the creator's quota" });
  }
  return issues;
}

/** Compared by cross-multiplying, so no rounding lets a looser limit through. */
function looserThan(child: RateLimitRule, parent: RateLimitRule): string | undefined {
  if (parent.tier === "exact" && child.tier !== "exact") return "is approximate, which counts less strictly";
  if (child.limit * parent.cost > parent.limit * child.cost) return "allows more requests per window";
  if (child.limit * parent.cost * parent.window_s > parent.limit * child.cost * child.window_s) return "allows a higher rate";
  return undefined;
}
