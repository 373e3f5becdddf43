/**
 * @module
 * The arithmetic of the `approximate` rate-limit tier (README "Mapping windows"). One Workers Rate
 * Limiting binding, whose limit is {@link APPROXIMATE_SCALE}, serves every key: a unit of a key's
 * limit `L` is worth `⌈SCALE / L⌉` of the binding's counter, which admits while it is below SCALE.
 * So the binding admits exactly {@link approximateCapacity} units per period: never more than `L`,
 * but fewer where `SCALE / L` is far from a whole number (99,999 would admit only 90,910). The
 * schema accepts only limits it counts within {@link APPROXIMATE_MAX_SHORTFALL}.
 */

/** `simple.limit` of both `[[ratelimits]]` bindings in wrangler.toml. */
export const APPROXIMATE_SCALE = 1_000_000;
/**
 * The largest share of a limit that the binding's rounding may leave uncounted: 2 %, so the round
 * limits people set (3,000, 30,000 or 60,000 a minute) are accepted, and counted a little stricter.
 */
export const APPROXIMATE_MAX_SHORTFALL = 0.02;

/** What one unit of `limit` adds to the binding's counter. */
export function approximateUnitDelta(limit: number): number {
  return Math.ceil(APPROXIMATE_SCALE / limit);
}

/**
 * The units the binding admits per period and location for `limit`: the counter admits a unit while
 * it is below SCALE, so `n` units fit while `(n − 1) × delta < SCALE`, that is `⌈SCALE / delta⌉`.
 * @example approximateCapacity(10_000); // 10000
 * @example approximateCapacity(99_999); // 90910
 */
export function approximateCapacity(limit: number): number {
  return Math.ceil(APPROXIMATE_SCALE / approximateUnitDelta(limit));
}

/** Whether the binding counts `limit` to within {@link APPROXIMATE_MAX_SHORTFALL} of it. */
export function countsApproximately(limit: number): boolean {
  return approximateCapacity(limit) >= limit * (1 - APPROXIMATE_MAX_SHORTFALL);
}
