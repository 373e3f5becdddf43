/**
 * The verification page: sign-in when signed out, the consent screen with catalog descriptions and
 * role allowance, escaping of everything the client chose, and browser form decisions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, createOrgAs, type DashboardUser, signUp } from "../helpers/auth";
import { pollToken, requestDeviceCode } from "../helpers/oauth";
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
  return call(`/_keygate/oauth/device${query}`, { headers: user ? { cookie: user.cookie } : {} });
}

describe("GET /_keygate/oauth/device", () => {
  it("shows a sign-in form to a signed-out browser, unframeable and uncached", async () => {
    const res = await page("BCDF-GHJK");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    expect(body).toContain('type="password"');
    expect(body).toContain("/_keygate/auth/sign-in/email");
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
  function submit(user: DashboardUser, fields: Record<string, string>, origin = BASE): Promise<Response> {
    return call("/_keygate/oauth/device", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: user.cookie, origin },
      body: new URLSearchParams(fields).toString(),
    });
  }

  it("approves and answers a page; the device then gets its tokens", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    const res = await submit(owner, { user_code: device.user_code, action: "approve", org_id: org });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Device connected");
    expect((await pollToken(device.device_code)).status).toBe(200);
  });

  it("answers a refused decision with a page explaining why", async () => {
    const device = await requestDeviceCode({ scope: "keygate:keys:write", org_id: org });
    const res = await submit(member, { user_code: device.user_code, action: "approve" });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("may grant none of the requested scopes");
  });

  it("refuses a form posted from another site", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    const res = await submit(owner, { user_code: device.user_code, action: "approve" }, "https://evil.example");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("origin_not_allowed");
  });
});
