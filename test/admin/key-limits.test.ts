/**
 * SPEC §11 in the admin API: `rate_limits` and `quota` on keys, set at create, PATCH and rotate;
 * a child key inherits its creator's and may only narrow them (400 for anything looser); presets
 * carry limits; the usage view reads the counters without counting.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import bundledPolicy from "../../policy.json";
import worker from "../../src/index";
import { ADMIN_TOKEN, admin, call, createKey, createOrg, env, json } from "../helpers/worker";

interface Err {
  code: string;
  details: { issues: { path: string; message: string }[] };
}

let org: string;
beforeAll(async () => {
  org = await createOrg("Limits admin");
});

const burst = { name: "burst", limit: 100, window_s: 60, tier: "exact" };
const asKey = (key: string) => ({ "x-api-key": key });

/** A key that may create keys, itself limited to `burst` and a quota of 10,000 a month. */
function limitedCreator() {
  return createKey({
    org_id: org,
    scopes: ["content:read", "keygate:keys:write"],
    rate_limits: [burst],
    quota: { limit: 10_000, period: "month" },
  });
}

async function expect400(res: Response, path: string): Promise<void> {
  expect(res.status).toBe(400);
  const body = await json<Err>(res);
  expect(body.code).toBe("BAD_REQUEST");
  expect(body.details.issues.map((issue) => issue.path)).toContain(path);
}

describe("rate_limits and quota on keys", () => {
  it("are stored and returned with the record, the limit's cost defaulting to 1", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [burst], quota: { limit: 5, period: "month" } });
    expect(key).toMatchObject({ rate_limits: [{ ...burst, cost: 1 }], quota: { limit: 5, period: "month" }, rotation_root_id: key.id });
    const fetched = await json<{ data: unknown }>(await admin("GET", `/keys/${key.id}`));
    expect(fetched.data).toMatchObject({ rate_limits: [{ ...burst, cost: 1 }], quota: { limit: 5, period: "month" } });
  });

  it.each([
    [{ ...burst, tier: "approximate", window_s: 30 }, "rate_limits.0.window_s"],
    [{ ...burst, tier: "approximate", limit: 200_000, window_s: 10 }, "rate_limits.0.limit"],
    [{ ...burst, tier: "fast" }, "rate_limits.0.tier"],
    [{ ...burst, name: "Burst!" }, "rate_limits.0.name"],
    [{ ...burst, name: "quota" }, "rate_limits.0.name"],
    [{ ...burst, limit: 0 }, "rate_limits.0.limit"],
    [{ ...burst, cost: 1.5 }, "rate_limits.0.cost"],
  ])("rejects the limit %j with 400 at %s, creating nothing", async (limit, path) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>();
    await expect400(await admin("POST", "/keys", { org_id: org, name: "k", scopes: ["content:read"], rate_limits: [limit] }), path);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>()).toEqual(before);
  });

  it("rejects two limits of one name and a quota of another period", async () => {
    await expect400(await admin("POST", "/keys", { org_id: org, name: "k", scopes: ["content:read"], rate_limits: [burst, burst] }), "rate_limits.1.name");
    await expect400(await admin("POST", "/keys", { org_id: org, name: "k", scopes: ["content:read"], quota: { limit: 5, period: "day" } }), "quota.period");
  });

  it("change with PATCH and take effect at once", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [burst] });
    const patched = await admin("PATCH", `/keys/${key.id}`, { rate_limits: [{ ...burst, limit: 1 }] });
    expect(patched.status).toBe(200);
    expect((await json<{ data: { rate_limits: unknown } }>(patched)).data.rate_limits).toEqual([{ ...burst, limit: 1, cost: 1 }]);
    expect((await call("/api/v1/site/pages", { headers: asKey(key.key) })).status).toBe(200);
    expect((await call("/api/v1/site/pages", { headers: asKey(key.key) })).status).toBe(429);
    const cleared = await admin("PATCH", `/keys/${key.id}`, { rate_limits: [], quota: null });
    expect((await json<{ data: unknown }>(cleared)).data).toMatchObject({ rate_limits: [], quota: null });
    expect(await env.DB.prepare("SELECT rate_limits, quota FROM api_keys WHERE id = ?").bind(key.id).first()).toEqual({ rate_limits: "[]", quota: null });
    expect((await call("/api/v1/site/pages", { headers: asKey(key.key) })).status).toBe(200);
  });

  it("may be narrowed at rotation, keeping the rotation root", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [burst] });
    const res = await admin("POST", `/keys/${key.id}/rotate`, { rate_limits: [{ ...burst, limit: 10 }] });
    expect(res.status).toBe(201);
    expect((await json<{ data: unknown }>(res)).data).toMatchObject({ rate_limits: [{ ...burst, limit: 10 }], rotation_root_id: key.id });
  });

  it("may not be loosened at rotation, even with ADMIN_TOKEN (PATCH is the way)", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [burst] });
    await expect400(await admin("POST", `/keys/${key.id}/rotate`, { rate_limits: [{ ...burst, limit: 1000 }] }), "rate_limits.0");
    await expect400(await admin("POST", `/keys/${key.id}/rotate`, { rate_limits: [] }), "rate_limits");
  });
});

describe("child keys", () => {
  it("inherit their creator's limits and quota when they name none", async () => {
    const creator = await limitedCreator();
    const child = await createKey({ name: "child", scopes: ["content:read"] }, asKey(creator.key));
    expect(child).toMatchObject({ rate_limits: [{ ...burst, cost: 1 }], quota: { limit: 10_000, period: "month" } });
    expect(child.rotation_root_id).toBe(child.id);
  });

  it("may narrow: a smaller limit, a lower rate, more cost per request, an extra limit, a smaller quota", async () => {
    const creator = await limitedCreator();
    const narrower = [
      { ...burst, limit: 50 },
      { ...burst, limit: 10, window_s: 10 },
      { ...burst, limit: 100, cost: 2 },
    ];
    for (const limit of narrower) {
      const res = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], rate_limits: [limit, { name: "extra", limit: 5, window_s: 10, tier: "approximate" }] }, asKey(creator.key));
      expect(res.status).toBe(201);
    }
    const quota = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], quota: { limit: 5, period: "month" } }, asKey(creator.key));
    expect(quota.status).toBe(201);
  });

  it.each([
    ["a higher limit", [{ ...burst, limit: 101 }], "rate_limits.0"],
    ["a higher rate over a shorter window", [{ ...burst, limit: 50, window_s: 10 }], "rate_limits.0"],
    ["the same rate with a bigger burst", [{ ...burst, limit: 1000, window_s: 600 }], "rate_limits.0"],
    ["an approximate stand-in for an exact limit", [{ ...burst, tier: "approximate" }], "rate_limits.0"],
    ["no limit", [], "rate_limits"],
    ["a renamed limit", [{ ...burst, name: "other" }], "rate_limits"],
  ])("get 400 for %s, and nothing is created", async (what, rateLimits, path) => {
    const creator = await limitedCreator();
    const res = await admin("POST", "/keys", { name: what, scopes: ["content:read"], rate_limits: rateLimits }, asKey(creator.key));
    await expect400(res, path);
    const made = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE name = ?").bind(what).first<{ n: number }>();
    expect(made?.n).toBe(0);
  });

  it("get 400 for dropping or raising the creator's quota", async () => {
    const creator = await limitedCreator();
    await expect400(await admin("POST", "/keys", { name: "c", scopes: ["content:read"], quota: null }, asKey(creator.key)), "quota");
    await expect400(await admin("POST", "/keys", { name: "c", scopes: ["content:read"], quota: { limit: 10_001, period: "month" } }, asKey(creator.key)), "quota.limit");
  });

  it("cannot be loosened by their creator with PATCH", async () => {
    const creator = await limitedCreator();
    const child = await createKey({ name: "child", scopes: ["content:read"] }, asKey(creator.key));
    await expect400(await admin("PATCH", `/keys/${child.id}`, { rate_limits: [{ ...burst, limit: 500 }] }, asKey(creator.key)), "rate_limits.0");
    await expect400(await admin("PATCH", `/keys/${child.id}`, { quota: null }, asKey(creator.key)), "quota");
    expect((await admin("PATCH", `/keys/${child.id}`, { rate_limits: [{ ...burst, limit: 5 }] }, asKey(creator.key))).status).toBe(200);
    // ADMIN_TOKEN is bound by no creator.
    expect((await admin("PATCH", `/keys/${child.id}`, { rate_limits: [] }, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });
});

describe("presets", () => {
  it("give a key made from them their rate limits and quota", async () => {
    const policy = {
      ...bundledPolicy,
      presets: { ...bundledPolicy.presets, metered: { scopes: ["content:read"], rate_limits: [burst], quota: { limit: 50, period: "month" } } },
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("https://gw.test/_keygate/v1/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ org_id: org, name: "metered", preset: "metered" }),
      }),
      { ...env, POLICY: JSON.stringify(policy) },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(201);
    expect((await json<{ data: unknown }>(res)).data).toMatchObject({
      scopes: ["content:read"],
      preset: "metered",
      rate_limits: [{ ...burst, cost: 1 }],
      quota: { limit: 50, period: "month" },
    });
  });
});

describe("GET /_keygate/v1/scopes", () => {
  it("lists the rate limits and quota each preset gives a key, and keeps presets a name → scopes map", async () => {
    const policy = {
      ...bundledPolicy,
      presets: { "read-only": ["content:read"], metered: { scopes: ["content:read"], rate_limits: [burst], quota: { limit: 50, period: "month" } } },
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("https://gw.test/_keygate/v1/scopes"), { ...env, POLICY: JSON.stringify(policy) }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { presets: unknown; preset_limits: unknown } }>(res);
    expect(data.presets).toEqual({ "read-only": ["content:read"], metered: ["content:read"] });
    expect(data.preset_limits).toEqual({
      "read-only": { rate_limits: [], quota: null },
      metered: { rate_limits: [{ ...burst, cost: 1 }], quota: { limit: 50, period: "month" } },
    });
  });
});

describe("GET /_keygate/v1/keys/:id/usage", () => {
  it("shows the exact tier's counts without counting, and null for approximate limits", async () => {
    const key = await createKey({
      org_id: org,
      scopes: ["content:read"],
      rate_limits: [{ ...burst, limit: 3 }, { name: "edge", limit: 10, window_s: 10, tier: "approximate" }],
      quota: { limit: 7, period: "month" },
    });
    await call("/api/v1/site/pages", { headers: asKey(key.key) });
    for (let i = 0; i < 2; i++) {
      const usage = await json<{ data: unknown }>(await admin("GET", `/keys/${key.id}/usage`));
      expect(usage.data).toMatchObject({
        rate_limits: [
          { name: "burst", used: 1, remaining: 2 },
          { name: "edge", used: null, remaining: null, reset_s: null },
        ],
        quota: { limit: 7, used: 1, remaining: 6 },
      });
    }
  });
});
