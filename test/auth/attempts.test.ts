/**
 * Brute-force limits (issue 10 item 8): sign-in and sign-up attempts per client address and
 * endpoint, counted in D1 (shared by every isolate), refused with the contract's 429.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CREDENTIAL_ATTEMPTS, limitAttempts, pruneAttempts, USER_CODE_ATTEMPTS } from "../../src/auth/attempts";
import { handleError } from "../../src/errors";
import type { KeygateEnv } from "../../src/http/context";
import { authPost, DASHBOARD_ORIGIN, randomClientIp, signUp } from "../helpers/auth";
import { BASE, call, json } from "../helpers/worker";

afterEach(() => vi.restoreAllMocks());

const wrongPassword = (email: string, ip: string, origin = BASE) =>
  call("/_keygate/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json", origin, "cf-connecting-ip": ip },
    body: JSON.stringify({ email, password: "not the password" }),
  });

async function expectLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(CREDENTIAL_ATTEMPTS.window);
  expect(await json(res)).toMatchObject({ ok: false, code: "RATE_LIMITED", message: "rate_limited", details: { violated_policies: ["auth-attempts"] } });
}

describe("sign-in and sign-up attempts", () => {
  it(`answers attempt ${CREDENTIAL_ATTEMPTS.max + 1} of one address within the window with 429 and Retry-After, also for the right password`, async () => {
    const user = await signUp();
    const ip = randomClientIp();
    for (let i = 0; i < CREDENTIAL_ATTEMPTS.max; i++) expect((await wrongPassword(user.email, ip)).status).toBe(401);
    await expectLimited(await wrongPassword(user.email, ip));
    await expectLimited(await authPost("/sign-in/email", { email: user.email, password: "correct horse battery staple" }, undefined, ip));
  });

  it("keeps the count in D1, where every isolate reads it", async () => {
    const user = await signUp();
    const ip = randomClientIp();
    for (let i = 0; i < CREDENTIAL_ATTEMPTS.max; i++) await wrongPassword(user.email, ip);
    const rows = await env.DB.prepare("SELECT count FROM auth_attempts WHERE key LIKE ?").bind(`%${ip}%`).all<{ count: number }>();
    expect(rows.results).toEqual([{ count: CREDENTIAL_ATTEMPTS.max }]);
    await env.DB.prepare("DELETE FROM auth_attempts WHERE key LIKE ?").bind(`%${ip}%`).run();
    expect((await wrongPassword(user.email, ip)).status).toBe(401);
  });

  it("does not limit another address", async () => {
    const user = await signUp();
    const ip = randomClientIp();
    for (let i = 0; i <= CREDENTIAL_ATTEMPTS.max; i++) await wrongPassword(user.email, ip);
    expect((await wrongPassword(user.email, randomClientIp())).status).toBe(401);
  });

  it("limits sign-up attempts too", async () => {
    const ip = randomClientIp();
    const attempt = () => authPost("/sign-up/email", { name: "x", email: `${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" }, undefined, ip);
    for (let i = 0; i < CREDENTIAL_ATTEMPTS.max; i++) expect((await attempt()).status).toBe(200);
    await expectLimited(await attempt());
  });

  it("lets a dashboard on a listed origin read the 429", async () => {
    const ip = randomClientIp();
    for (let i = 0; i < CREDENTIAL_ATTEMPTS.max; i++) await wrongPassword("nobody@example.com", ip, DASHBOARD_ORIGIN);
    const res = await wrongPassword("nobody@example.com", ip, DASHBOARD_ORIGIN);
    expect(res.headers.get("access-control-allow-origin")).toBe(DASHBOARD_ORIGIN);
    await expectLimited(res);
  });

  it("refuses an attempt it cannot count with 503, when D1 is down", async () => {
    const prepare = env.DB.prepare.bind(env.DB);
    vi.spyOn(env.DB, "prepare").mockImplementation((sql) => {
      if (sql.includes("auth_attempts")) throw new Error("D1_ERROR: database unavailable");
      return prepare(sql);
    });
    const res = await wrongPassword("nobody@example.com", randomClientIp());
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ ok: false, code: "UNAVAILABLE" });
  });
});

describe("limitAttempts", () => {
  const app = new Hono<KeygateEnv>();
  app.post("/enter", limitAttempts("test-entry", { window: 60, max: 2 }), (c) => c.text("ok"));
  app.onError(handleError);
  const enter = (ip: string) => app.request("/enter", { method: "POST", headers: { "cf-connecting-ip": ip } }, env);

  it("answers the attempt past the rule with 429 RATE_LIMITED naming the limit, per client address", async () => {
    const ip = randomClientIp();
    expect((await enter(ip)).status).toBe(200);
    expect((await enter(ip)).status).toBe(200);
    const res = await enter(ip);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await json(res)).toMatchObject({ code: "RATE_LIMITED", details: { violated_policies: ["test-entry"] } });
    expect((await enter(randomClientIp())).status).toBe(200);
  });

  it("counts IPv6 addresses per /64, like better-auth's limiter", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    expect((await enter(`${prefix}::1`)).status).toBe(200);
    expect((await enter(`${prefix}::2`)).status).toBe(200);
    expect((await enter(`${prefix}:ffff::3`)).status).toBe(429);
  });
});

describe("pruneAttempts (retention cron)", () => {
  it("deletes counters whose window started over an hour ago and keeps recent ones", async () => {
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO auth_attempts (key, count, window_start) VALUES ('old-test', 3, ?)").bind(now - 3_600_001),
      env.DB.prepare("INSERT INTO auth_attempts (key, count, window_start) VALUES ('recent-test', 3, ?)").bind(now - 60_000),
    ]);
    await pruneAttempts(env.DB, now);
    const { results } = await env.DB.prepare("SELECT key FROM auth_attempts WHERE key IN ('old-test', 'recent-test')").all();
    expect(results).toEqual([{ key: "recent-test" }]);
  });
});

describe("device flow user-code attempts", () => {
  const lookUp = (user: { cookie: string }, code: string, ip: string) =>
    call(`/_keygate/oauth/device?user_code=${code}`, { headers: { cookie: user.cookie, "cf-connecting-ip": ip } });

  it(`refuses lookup ${USER_CODE_ATTEMPTS.max + 1} of one address within the window with 429, and counts decisions too`, async () => {
    const user = await signUp();
    const ip = randomClientIp();
    for (let i = 0; i < USER_CODE_ATTEMPTS.max; i++) expect((await lookUp(user, `WXYZ-${1000 + i}`, ip)).status).toBe(200);
    const refused = await lookUp(user, "WXYZ-2000", ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await json(refused)).toMatchObject({ code: "RATE_LIMITED", details: { violated_policies: ["oauth-user-code"] } });
    const decision = await call("/_keygate/oauth/device", {
      method: "POST",
      headers: { "content-type": "application/json", origin: BASE, cookie: user.cookie, "cf-connecting-ip": ip },
      body: JSON.stringify({ user_code: "WXYZ-2001", action: "approve" }),
    });
    expect(decision.status).toBe(429);
  });

  it("does not count the code-entry page itself or other addresses", async () => {
    const user = await signUp();
    const ip = randomClientIp();
    for (let i = 0; i < USER_CODE_ATTEMPTS.max; i++) await lookUp(user, `WXYZ-${3000 + i}`, ip);
    expect((await call("/_keygate/oauth/device", { headers: { cookie: user.cookie, "cf-connecting-ip": ip } })).status).toBe(200);
    expect((await lookUp(user, "WXYZ-4000", randomClientIp())).status).toBe(200);
  });
});
