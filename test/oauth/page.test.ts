/**
 * The verification page: sign-in when signed out, the consent screen with catalog descriptions and
 * role allowance, escaping of everything the client chose, and browser form decisions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, createOrgAs, type DashboardUser, randomClientIp, signUp } from "../helpers/auth";
import { deviceConsentToken, pollToken, requestDeviceCode } from "../helpers/oauth";
import { BASE, call } from "../helpers/worker";

let owner: DashboardUser;
let org: string;
let member: DashboardUser;

beforeAll(async () => {
  owner = await signUp("Page Owner");
  org = await createOrgAs(owner, "Page <Org>");
  member = await signUp("Page Member");
  await addMember(org, member.userId);
});

function page(userCode: string | undefined, user?: DashboardUser): Promise<Response> {
  const query = userCode === undefined ? "" : `?user_code=${encodeURIComponent(userCode)}`;
  // Each from its own address: user-code lookups are limited per address (test/auth/attempts.test.ts).
  return call(`/_keygate/oauth/device${query}`, { headers: { "cf-connecting-ip": randomClientIp(), ...(user && { cookie: user.cookie }) } });
}

describe("GET /_keygate/oauth/device", () => {
  it("shows a sign-in form to a signed-out browser, unframeable and uncached", async () => {
    const res = await page("BCDF-GHJK");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    expect(body).toContain('type="password"');
    expect(body).toContain('action="/_keygate/oauth/sign-in"');
    expect(body).toContain('name="return_to" value="/_keygate/oauth/device?user_code=BCDF-GHJK"');
  });

  it("sends a strict CSP, no framing, and a referrer policy under which browsers send the form's Origin", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    for (const res of [await page("BCDF-GHJK"), await page(undefined, owner), await page(device.user_code, owner)]) {
      expect(res.headers.get("content-security-policy")).toBe(
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      // With no-referrer, Chromium posts the form with Origin: null.
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
      expect(await res.text()).not.toContain("<script");
    }
  });

  it("shows the client, the org and each scope with its catalog description", async () => {
    const device = await requestDeviceCode({ scope: "content:read real-prompter:* keygate:keys:write", org_id: org });
    const body = await (await page(device.user_code, owner)).text();
    expect(body).toContain("keygate-cli");
    expect(body).toContain(device.user_code);
    expect(body).toContain("Page &lt;Org&gt;");
    expect(body).toContain("Read site pages, markdown content, and llms.txt files");
    expect(body).toContain("All Real Prompter operations");
    expect(body).toContain("Create, change, rotate and revoke API keys");
    expect(body).toContain('value="approve"');
    expect(body).not.toContain("not grantable");
  });

  it("marks keygate: scopes not grantable for a member", async () => {
    const device = await requestDeviceCode({ scope: "content:read keygate:keys:write", org_id: org });
    const body = await (await page(device.user_code, member)).text();
    expect(body).toMatch(/<code>keygate:keys:write<\/code>[^<]*— not grantable/);
    expect(body).not.toMatch(/<code>content:read<\/code>[^<]*— not grantable/);
  });

  it("escapes a hostile client_id", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org, client_id: `<script>alert("x")</script>` });
    const body = await (await page(device.user_code, owner)).text();
    expect(body).not.toContain("<script>alert");
    expect(body).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("asks for the code again when it is unknown", async () => {
    const body = await (await page("ZZZZ-ZZZZ", owner)).text();
    expect(body).toContain("unknown, expired or already used");
    expect(body).toContain('name="user_code"');
  });

  it("offers the user's orgs when the client named none", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    const body = await (await page(device.user_code, owner)).text();
    expect(body).toContain(`<option value="${org}">`);
  });
});

describe("POST /_keygate/oauth/device (browser form)", () => {
  function submit(user: DashboardUser, fields: Record<string, string>, headers: Record<string, string> = { origin: BASE }): Promise<Response> {
    return call("/_keygate/oauth/device", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: user.cookie, "cf-connecting-ip": randomClientIp(), ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  it("approves and answers a page; the device then gets its tokens", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    const form_token = await deviceConsentToken(owner, device.user_code);
    const res = await submit(owner, { user_code: device.user_code, action: "approve", org_id: org, form_token });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Device connected");
    expect((await pollToken(device.device_code)).status).toBe(200);
  });

  it("answers a refused decision with a page explaining why", async () => {
    const device = await requestDeviceCode({ scope: "keygate:keys:write", org_id: org });
    const form_token = await deviceConsentToken(member, device.user_code);
    const res = await submit(member, { user_code: device.user_code, action: "approve", form_token });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("may grant none of the requested scopes");
  });

  it("refuses a form posted from another site", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    const form_token = await deviceConsentToken(owner, device.user_code);
    const res = await submit(owner, { user_code: device.user_code, action: "approve", form_token }, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("origin_not_allowed");
  });

  it("accepts Origin: null only with Sec-Fetch-Site: same-origin (a browser's own form)", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    const form_token = await deviceConsentToken(owner, device.user_code);
    const fields = { user_code: device.user_code, action: "approve", form_token };
    for (const site of ["cross-site", "same-site", "none"]) {
      expect((await submit(owner, fields, { origin: "null", "sec-fetch-site": site })).status).toBe(403);
    }
    expect((await submit(owner, fields, { origin: "null" })).status).toBe(403);
    const res = await submit(owner, fields, { origin: "null", "sec-fetch-site": "same-origin" });
    expect(res.status).toBe(200);
    expect((await pollToken(device.device_code)).status).toBe(200);
  });

  it("refuses a form without the page's form token, or with another session's or code's", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    const other = await requestDeviceCode({ scope: "content:read", org_id: org });
    const fields = { user_code: device.user_code, action: "approve" };
    const tokens = ["", "x".repeat(43), await deviceConsentToken(member, device.user_code), await deviceConsentToken(owner, other.user_code)];
    for (const form_token of tokens) {
      const res = await submit(owner, { ...fields, form_token });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("reload the page");
    }
    await expect(pollToken(device.device_code).then((r) => r.json())).resolves.toMatchObject({ error: "authorization_pending" });
  });
});

describe("POST /_keygate/oauth/sign-in", () => {
  function signInForm(fields: Record<string, string>, origin = BASE): Promise<Response> {
    return call("/_keygate/oauth/sign-in", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
  }

  it("signs in and redirects back with better-auth's session cookie", async () => {
    const res = await signInForm({ email: owner.email, password: "correct horse battery staple", return_to: "/_keygate/oauth/device?user_code=BCDF-GHJK" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/_keygate/oauth/device?user_code=BCDF-GHJK");
    const cookie = res.headers.getSetCookie().find((line) => line.startsWith("__Secure-better-auth.session_token="));
    expect(cookie).toBeDefined();
    const signedIn = await call("/_keygate/oauth/device", { headers: { cookie: cookie!.split(";", 1)[0]! } });
    expect(await signedIn.text()).toContain("Connect a device");
  });

  it("shows the form again with 401 for a wrong password, setting no cookie", async () => {
    const res = await signInForm({ email: owner.email, password: "wrong password", return_to: "/_keygate/oauth/device" });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await res.text()).toContain("Sign-in failed");
  });

  it("never returns to a page outside /_keygate/oauth (open redirect)", async () => {
    for (const return_to of ["https://evil.example/", "//evil.example/", "/_keygate/oauth/\\evil.example", "/api/v1/site/pages"]) {
      const res = await signInForm({ email: owner.email, password: "correct horse battery staple", return_to });
      expect(res.status).toBe(401);
      expect(res.headers.get("location")).toBeNull();
    }
  });

  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const res = await signInForm({ email: owner.email, password: "correct horse battery staple", return_to: "/_keygate/oauth/device" }, "https://evil.example");
    expect(res.status).toBe(403);
  });
});
