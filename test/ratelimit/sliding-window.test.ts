/**
 * The exact tier's window arithmetic (src/ratelimit/sliding-window.ts), by properties: whatever
 * the arrival times and costs, admitted units in any window never exceed the limit, a refused
 * request is told to wait until it fits (never earlier), and the calendar month is UTC's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Bucket, bucketWidth, decide, expiryOf, monthOf } from "../../src/ratelimit/sliding-window";

/** Runs arrivals through {@link decide} as the Durable Object does, returning what it admitted. */
function simulate(limit: number, windowMs: number, arrivals: readonly { gap: number; cost: number }[]) {
  const buckets = new Map<number, number>();
  const admitted: { at: number; cost: number }[] = [];
  const decisions: { at: number; cost: number; allowed: boolean; resetMs: number; remaining: number }[] = [];
  let now = 1_750_000_000_000;
  for (const { gap, cost } of arrivals) {
    now += gap;
    const live: Bucket[] = [...buckets].map(([expiresAt, units]) => ({ expiresAt, units }));
    const decision = decide(live, limit, windowMs, cost, now);
    decisions.push({ at: now, cost, ...decision });
    if (decision.allowed) {
      const expiresAt = expiryOf(now, windowMs);
      buckets.set(expiresAt, (buckets.get(expiresAt) ?? 0) + cost);
      admitted.push({ at: now, cost });
    }
  }
  return { admitted, decisions, buckets };
}

// Small limits and gaps short against the window keep the window full, where edges matter.
const scenario = fc.record({
  limit: fc.integer({ min: 1, max: 12 }),
  windowMs: fc.integer({ min: 1, max: 6_000 }),
  arrivals: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), cost: fc.integer({ min: 1, max: 4 }) }), { minLength: 50, maxLength: 300 }),
});

describe("sliding window", () => {
  it("never admits more than the limit in any interval of one window", () => {
    fc.assert(
      fc.property(scenario, ({ limit, windowMs, arrivals }) => {
        const { admitted } = simulate(limit, windowMs, arrivals);
        for (const start of admitted) {
          const inWindow = admitted.filter((hit) => hit.at >= start.at && hit.at < start.at + windowMs);
          expect(inWindow.reduce((sum, hit) => sum + hit.cost, 0)).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it("admits a request once the window before it holds room for its cost, at most one bucket late", () => {
    fc.assert(
      fc.property(scenario, ({ limit, windowMs, arrivals }) => {
        const { admitted, decisions } = simulate(limit, windowMs, arrivals);
        const slack = bucketWidth(windowMs);
        for (const d of decisions.filter((decision) => !decision.allowed && decision.cost <= limit)) {
          // Refused: the units admitted in the window plus one bucket before it leave no room.
          const recent = admitted.filter((hit) => hit.at <= d.at && hit.at > d.at - windowMs - slack);
          expect(recent.reduce((sum, hit) => sum + hit.cost, 0) + d.cost).toBeGreaterThan(limit);
        }
      }),
    );
  });

  it("tells a refused request a wait after which it fits, and not a moment earlier", () => {
    fc.assert(
      fc.property(scenario, ({ limit, windowMs, arrivals }) => {
        const { decisions, buckets } = simulate(limit, windowMs, arrivals);
        const last = decisions.at(-1);
        if (!last) return;
        const live: Bucket[] = [...buckets].map(([expiresAt, units]) => ({ expiresAt, units }));
        const probe = decide(live, limit, windowMs, 1, last.at);
        if (probe.allowed) return;
        expect(probe.resetMs).toBeGreaterThan(0);
        expect(decide(live, limit, windowMs, 1, last.at + probe.resetMs).allowed).toBe(true);
        expect(decide(live, limit, windowMs, 1, last.at + probe.resetMs - 1).allowed).toBe(false);
      }),
    );
  });

  it("reports the remaining units after an admitted request", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 10 }), (limit, cost) => {
        const decision = decide([], limit, 60_000, cost, 0);
        expect(decision).toMatchObject({ allowed: cost <= limit, remaining: cost <= limit ? limit - cost : limit });
      }),
    );
  });

  it("refuses a cost above the limit and tells it to wait at least a window", () => {
    expect(decide([], 3, 10_000, 4, 5_000)).toMatchObject({ allowed: false, remaining: 3 });
    expect(decide([], 3, 10_000, 4, 5_000).resetMs).toBeGreaterThanOrEqual(10_000);
  });
});

describe("monthOf", () => {
  it("is the calendar month in UTC, ending at the next month's first midnight", () => {
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59))).toEqual({ month: "2026-12", startsAt: Date.UTC(2026, 11, 1), endsAt: Date.UTC(2027, 0, 1) });
    expect(monthOf(Date.UTC(2028, 1, 29, 12))).toMatchObject({ month: "2028-02", endsAt: Date.UTC(2028, 2, 1) });
  });

  it("contains its instant", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (now) => {
        const { startsAt, endsAt } = monthOf(now);
        expect(startsAt).toBeLessThanOrEqual(now);
        expect(now).toBeLessThan(endsAt);
      }),
    );
  });
});
