/**
 * The approximate tier's rounding (README "Mapping windows"): the shared binding admits at most a
 * key's limit per period, and for every limit the schema accepts at least 98 % of it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { APPROXIMATE_MAX_SHORTFALL, APPROXIMATE_SCALE, approximateCapacity } from "../../src/core/approximate-scale";
import type { Bindings } from "../../src/env";
import { checkApproximate } from "../../src/ratelimit/approximate";
import { MAX_APPROXIMATE_LIMIT, RateLimitSchema, type RateLimitRule } from "../../src/schemas/key";

const anyLimit = fc.integer({ min: 1, max: MAX_APPROXIMATE_LIMIT });
const accepts = (limit: number) => RateLimitSchema.safeParse({ name: "edge", limit, window_s: 60, tier: "approximate" }).success;

/** The production binding's contract: admits while its counter is below its limit, adding `delta` either way. */
function binding(): RateLimit {
  let count = 0;
  return {
    async limit({ delta = 1 }: RateLimitOptions) {
      const success = count < APPROXIMATE_SCALE;
      count += delta;
      return { success };
    },
  } as RateLimit;
}

/** How many requests of `units` the tier admits in one period before the first refusal. */
async function admitted(limit: number, units: number): Promise<number> {
  const env = { RATE_LIMIT_60S: binding() } as unknown as Bindings;
  const rule: RateLimitRule = { name: "edge", limit, window_s: 60, cost: 1, tier: "approximate" };
  const now = 1_800_000_000_000;
  let requests = 0;
  // Bounded: the tier refuses after at most `limit` units.
  for (let i = 0; i <= limit; i++) {
    if (!(await checkApproximate(env, `counter_${limit}_${units}`, rule, units, now)).allowed) break;
    requests++;
  }
  return requests;
}

describe("approximateCapacity", () => {
  it("never exceeds the limit, and the schema accepts exactly the limits counted within 2 %", () => {
    fc.assert(
      fc.property(anyLimit, (limit) => {
        const capacity = approximateCapacity(limit);
        expect(capacity).toBeLessThanOrEqual(limit);
        expect(accepts(limit)).toBe(capacity >= limit * (1 - APPROXIMATE_MAX_SHORTFALL));
      }),
      { numRuns: 2000 },
    );
  });

  it("suggests only limits the schema accepts", () => {
    fc.assert(fc.property(anyLimit, (limit) => accepts(approximateCapacity(limit))), { numRuns: 2000 });
  });

  it.each([
    [1000, 1000],
    [10_000, 10_000],
    [100_000, 100_000],
    [99_999, 90_910],
    [60_000, 58_824],
  ])("counts a limit of %i as %i", (limit, capacity) => {
    expect(approximateCapacity(limit)).toBe(capacity);
  });

  it.each([3000, 6000, 12_000, 15_000, 30_000, 60_000])("accepts the round limit %i, counted at most 2 % stricter", (limit) => {
    expect(accepts(limit)).toBe(true);
  });

  it("refuses a limit it would under-count, naming what it would count", () => {
    const result = RateLimitSchema.safeParse({ name: "edge", limit: 99_999, window_s: 60, tier: "approximate" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ["limit"], message: expect.stringContaining("90910") });
  });
});

describe("checkApproximate against the binding's contract", () => {
  it("admits what approximateCapacity says, within 2 % of every accepted limit, for requests of any cost", async () => {
    await fc.assert(
      fc.asyncProperty(anyLimit.filter(accepts), fc.integer({ min: 1, max: 50 }), async (limit, units) => {
        const requests = await admitted(limit, units);
        const unitsAdmitted = requests * units;
        expect(unitsAdmitted).toBeLessThanOrEqual(limit);
        // Whole requests only: at most one request's units short of the capacity.
        expect(unitsAdmitted).toBeGreaterThan(approximateCapacity(limit) - units);
        if (units === 1) expect(unitsAdmitted).toBeGreaterThanOrEqual(limit * (1 - APPROXIMATE_MAX_SHORTFALL));
      }),
      { numRuns: 25 },
    );
  });
});
