/**
 * @module
 * Sliding-window arithmetic of the `exact` tier, pure so that it can be checked by properties.
 *
 * Invariant: in no interval of `windowMs` do admitted requests add up to more than `limit` units.
 * Hits are kept in {@link BUCKETS_PER_WINDOW} buckets per window rather than one row per request, so
 * storage per limit is bounded whatever the traffic. A bucket's hits all count as if they came at
 * the bucket's end: each stays in the window at least as long as it truly would, so the count is
 * never below the true sliding count (never admitting too much), and a unit frees at most one
 * bucket width (1/60 of the window) late.
 */

export const BUCKETS_PER_WINDOW = 60;

/** Units counted in one bucket, and the epoch ms from which they no longer count. */
export interface Bucket {
  expiresAt: number;
  units: number;
}

export interface WindowDecision {
  allowed: boolean;
  /** Units counted in the window, this request included when allowed. */
  used: number;
  /** Units still free after this request (counted only when allowed). */
  remaining: number;
  /**
   * Ms until more capacity frees: when allowed, until the oldest counted unit leaves the window;
   * when refused, until enough has left for this request to fit (never earlier).
   */
  resetMs: number;
}

/** The width of one bucket of a window, in ms (at least 1). */
export function bucketWidth(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / BUCKETS_PER_WINDOW));
}

/** When the units of a hit at `now` stop counting: the end of its bucket plus the window. */
export function expiryOf(now: number, windowMs: number): number {
  const width = bucketWidth(windowMs);
  return (Math.floor(now / width) + 1) * width + windowMs;
}

/**
 * Whether a request of `cost` units fits under `limit` given the live `buckets` (any order; those
 * expired at `now` are ignored). A cost above the limit never fits; it is told to wait a window.
 */
export function decide(buckets: readonly Bucket[], limit: number, windowMs: number, cost: number, now: number): WindowDecision {
  const live = buckets.filter((bucket) => bucket.expiresAt > now).sort((a, b) => a.expiresAt - b.expiresAt);
  const used = live.reduce((sum, bucket) => sum + bucket.units, 0);
  if (used + cost <= limit) {
    const oldest = live[0]?.expiresAt ?? expiryOf(now, windowMs);
    return { allowed: true, used: used + cost, remaining: limit - used - cost, resetMs: oldest - now };
  }
  return { allowed: false, used, remaining: Math.max(0, limit - used), resetMs: fitsAt(live, used, limit, cost, windowMs, now) - now };
}

/** The first time at which enough live units have expired for `cost` more to fit. */
function fitsAt(live: readonly Bucket[], used: number, limit: number, cost: number, windowMs: number, now: number): number {
  if (cost > limit) return expiryOf(now, windowMs);
  let still = used;
  for (const bucket of live) {
    still -= bucket.units;
    if (still + cost <= limit) return bucket.expiresAt;
  }
  // Unreachable: once every bucket has expired, `cost <= limit` fits.
  return expiryOf(now, windowMs);
}

/** The calendar month (UTC) of `now` as `YYYY-MM`, with the epoch ms of its start and of the next one's. */
export function monthOf(now: number): { month: string; startsAt: number; endsAt: number } {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { month: `${year}-${String(month + 1).padStart(2, "0")}`, startsAt: Date.UTC(year, month, 1), endsAt: Date.UTC(year, month + 1, 1) };
}

/** Seconds from ms, rounded up: a client told to wait this long is never early. */
export function ceilSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
