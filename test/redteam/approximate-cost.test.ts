/**
 * Red team, SPEC §11: a request counts the route's cost times the limit's cost, and the
 * approximate tier is looser than the exact one only across locations. With the binding's contract
 * (admitted while its counter is below the scale, even when `delta` passes it) a request worth more
 * units than are left was admitted whole: a 3-unit request on a limit of 2 went through each period.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { APPROXIMATE_SCALE } from "../../src/core/approximate-scale";
import { createKey, createOrg } from "../helpers/worker";

let org: string;
beforeAll(async () => {
  org = await createOrg("Approximate cost red team");
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The production binding's contract, as test/gateway/rate-limits.test.ts emulates it. */
function emulateBinding(binding: RateLimit): void {
  const counters = new Map<string, number>();
  vi.spyOn(binding, "limit").mockImplementation(async ({ key, delta = 1 }) => {
    const count = counters.get(key) ?? 0;
    if (count >= APPROXIMATE_SCALE) return { success: false };
    counters.set(key, count + delta);
    return { success: true };
  });
}

async function statuses(limit: number, cost: number, requests: number): Promise<number[]> {
  emulateBinding(env.RATE_LIMIT_10S);
  const { key } = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [{ name: "burst", limit, window_s: 10, cost, tier: "approximate" }] });
  const seen: number[] = [];
  for (let i = 0; i < requests; i++) {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("https://gw.test/api/v1/site/pages", { headers: { "x-api-key": key } }), env, ctx);
    await waitOnExecutionContext(ctx);
    await res.arrayBuffer();
    seen.push(res.status);
  }
  return seen;
}

describe("an approximate limit admits no more units than its limit in one location", () => {
  it("refuses a request worth more units than the limit", async () => {
    expect(await statuses(2, 3, 2)).toEqual([429, 429]);
  });

  it("refuses a request worth more units than are left", async () => {
    expect(await statuses(3, 2, 3)).toEqual([200, 429, 429]);
  });

  it("still admits exactly the limit when each request fits", async () => {
    expect(await statuses(4, 2, 3)).toEqual([200, 200, 429]);
  });
});
