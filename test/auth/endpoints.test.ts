/**
 * better-auth's HTTP API mounted at /_keygate/auth: email and password sign-up, sign-in and
 * sign-out on D1, and CORS for the dashboards of the policy's origins.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { authPost, DASHBOARD_ORIGIN, SESSION_COOKIE_NAME, signIn, signUp } from "../helpers/auth";
import { call, json } from "../helpers/worker";

describe("/_keygate/auth", () => {
  it("signs a user up with a Secure, HttpOnly session cookie and stores the user, account and session", async () => {
    const email = `${crypto.randomUUID()}@example.com`;
    const res = await authPost("/sign-up/email", { name: "Gina", email, password: "correct horse battery staple" });
    expect(res.status).toBe(200);
    const setCookie = res.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE_NAME}=`));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    const { user } = await json<{ user: { id: string } }>(res);
    const rows = await env.DB.batch([
      env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(user.id),
      env.DB.prepare("SELECT provider_id, password IS NOT NULL AS has_password FROM accounts WHERE user_id = ?").bind(user.id),
      env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(user.id),
    ]);
    expect(rows.map((result) => result.results)).toEqual([[{ email }], [{ provider_id: "credential", has_password: 1 }], [{ n: 1 }]]);
  });

  it("signs an existing user in with a new session", async () => {
    const user = await signUp();
    const again = await signIn(user.email);
    expect(again.userId).toBe(user.userId);
    expect(again.token).not.toBe(user.token);
  });

  it("refuses a wrong password with 401 and sets no cookie", async () => {
    const user = await signUp();
    const res = await authPost("/sign-in/email", { email: user.email, password: "wrong password entirely" });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("reports the session of a cookie at get-session and ends it at sign-out", async () => {
    const user = await signUp();
    const before = await call("/_keygate/auth/get-session", { headers: { cookie: user.cookie } });
    expect((await json<{ user: { id: string } }>(before)).user.id).toBe(user.userId);
    expect((await authPost("/sign-out", {}, user.cookie)).status).toBe(200);
    const after = await call("/_keygate/auth/get-session", { headers: { cookie: user.cookie } });
    expect(await after.json()).toBeNull();
  });

  it("answers a preflight from a listed dashboard origin with credentialed CORS", async () => {
    const res = await call("/_keygate/auth/sign-in/email", {
      method: "OPTIONS",
      headers: { origin: DASHBOARD_ORIGIN, "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(DASHBOARD_ORIGIN);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("gives an unlisted origin no CORS headers, and better-auth refuses its cookie-bearing POSTs", async () => {
    const user = await signUp();
    const res = await call("/_keygate/auth/organization/create", {
      method: "POST",
      headers: { origin: "https://evil.example", cookie: user.cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "Evil", slug: `evil-${crypto.randomUUID()}` }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
