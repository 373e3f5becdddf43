/**
 * The ops console (SPEC §8a) through the Worker: each page and action with a real session, what it
 * changed in D1 and the audit event the admin API wrote for it, and who may do what.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { writeEvents } from "../../src/audit/store";
import { sha256Hex } from "../../src/core/sha256";
import { addMember, authPost, createOrgAs, signUp, type DashboardUser } from "../helpers/auth";
import { auditEvent } from "../helpers/events";
import { BASE, call, createKey, createProject, env } from "../helpers/worker";

const CONSOLE = "/_keygate/console";

let owner: DashboardUser;
let member: DashboardUser;
let outsider: DashboardUser;
let org: string;
let otherOrg: string;

beforeAll(async () => {
  owner = await signUp("Console Owner");
  member = await signUp("Console Member");
  outsider = await signUp("Org B Owner");
  org = await createOrgAs(owner, "Console Org");
  otherOrg = await createOrgAs(outsider, "Org B");
  await addMember(org, member.userId, "member");
  await createProject(org, "console_project");
});

function page(path: string, user: DashboardUser | null = owner): Promise<Response> {
  return call(`${CONSOLE}${path}`, { headers: user ? { cookie: user.cookie } : {}, redirect: "manual" });
}

/** A form post as a browser sends it from a console page (same Origin, form encoding). */
function post(path: string, fields: Record<string, string | string[]>, user: DashboardUser = owner, origin = BASE): Promise<Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
  return call(`${CONSOLE}${path}`, {
    method: "POST",
    headers: { cookie: user.cookie, origin, "content-type": "application/x-www-form-urlencoded" },
    body,
    redirect: "manual",
  });
}

async function keyRow(id: string) {
  return env.DB.prepare("SELECT name, scopes, allowed_ips, allowed_origins, restrictions_mode, revoked_at, rotated_to, key_hash FROM api_keys WHERE id = ?")
    .bind(id)
    .first<Record<string, string | null>>();
}

/** Waits for the audit event of an admin change to reach D1 (the queue delivers it). */
async function adminEvent(action: string, targetId: string) {
  return vi.waitFor(
    async () => {
      const row = await env.DB.prepare("SELECT caller, org_id, outcome, status FROM audit_events WHERE action = ? AND target_id = ?")
        .bind(action, targetId)
        .first();
      if (!row) throw new Error(`no ${action} event for ${targetId}`);
      return row;
    },
    { timeout: 5000, interval: 50 },
  );
}

describe("console pages", () => {
  it("sends a request without a session to the sign-in page", async () => {
    const res = await page(`/${org}/keys`, null);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${CONSOLE}/sign-in?next=${encodeURIComponent(`${CONSOLE}/${org}/keys`)}`);
  });

  it("serves the sign-in page with a strict CSP, no framing, no caching and no inline script or style", async () => {
    const res = await page("/sign-in", null);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain("data-sign-in");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("redirects the console root to the user's first org", async () => {
    const res = await page("");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${CONSOLE}/${org}`);
  });

  it.each([
    ["overview", "", "Requests, denials and would-deny"],
    ["overview, last hour", "?range=1h", "last 1h"],
    ["overview, 7 days", "?range=7d", "last 7d"],
    ["keys table", "/keys", "24 h (allowed / denied)"],
    ["new key form", "/keys/new", "Create key"],
    ["audit explorer", "/audit", "Export CSV"],
  ])("renders the %s page for the owner", async (_name, path, text) => {
    const res = await page(`/${org}${path}`);
    expect(res.status, await res.clone().text()).toBe(200);
    const html = await res.text();
    expect(html).toContain(text);
    expect(html).toContain("Console Org (owner)");
  });

  it("switches org by redirecting to the chosen org's overview", async () => {
    const res = await page(`/switch?org=${otherOrg}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${CONSOLE}/${otherOrg}`);
  });

  it("serves its script and stylesheet from its own origin", async () => {
    const js = await page("/assets/console.js", null);
    expect(js.headers.get("content-type")).toContain("javascript");
    const css = await page("/assets/console.css", null);
    expect(css.headers.get("content-type")).toContain("text/css");
  });

  it("answers 404 to a user of org B for org A's pages and keys", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await page(`/${org}`, outsider)).status).toBe(404);
    expect((await page(`/${org}/audit`, outsider)).status).toBe(404);
    expect((await page(`/${otherOrg}/keys/${key.id}`, outsider)).status).toBe(404);
    const keys = await (await page(`/${otherOrg}/keys`, outsider)).text();
    expect(keys).not.toContain(key.id);
  });
});

describe("creating a key in the console", () => {
  it("shows the raw key once, stores only its hash, and the admin API audits key.create by the session", async () => {
    const res = await post(`/${org}/keys`, { name: "from console", scopes: ["content:read", "stories:read"], project_id: "console_project" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    const raw = /kg_live_[0-9A-Za-z]{38}/.exec(html)?.[0];
    expect(raw).toBeDefined();
    expect(html).toContain("shown this once and never again");
    const row = await env.DB.prepare("SELECT id, scopes, project_id, key_hash FROM api_keys WHERE key_hash = ?").bind(await sha256Hex(raw!)).first<{ id: string; scopes: string; project_id: string }>();
    expect(row).toMatchObject({ scopes: '["content:read","stories:read"]', project_id: "console_project" });
    expect(await adminEvent("key.create", row!.id)).toMatchObject({ caller: "session", org_id: org, outcome: "allowed", status: 201 });
    const keyPage = await (await page(`/${org}/keys/${row!.id}`)).text();
    expect(keyPage).toContain("from console");
    expect(keyPage).not.toContain(raw);
  });

  it("shows the API's 400 on the form and creates nothing for an unknown scope", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE org_id = ?").bind(org).first<{ n: number }>();
    const res = await post(`/${org}/keys`, { name: "bad", scopes: ["nope:nope"] });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("is not a catalog scope");
    const after = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE org_id = ?").bind(org).first<{ n: number }>();
    expect(after).toEqual(before);
  });

  it.each([
    ["another site", "https://evil.example"],
    ["an opaque origin", "null"],
  ])("refuses a form post from %s with 403 and creates nothing", async (_name, origin) => {
    const res = await post(`/${org}/keys`, { name: "csrf", scopes: ["content:read"] }, owner, origin);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toBe("origin_not_allowed");
    expect(await env.DB.prepare("SELECT 1 FROM api_keys WHERE name = 'csrf'").first()).toBeNull();
  });

  it("refuses a form body over 64 KB with 413 before reading it, and creates nothing", async () => {
    const res = await post(`/${org}/keys`, { name: "huge", scopes: ["content:read"], allowed_origins: "x".repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(await env.DB.prepare("SELECT 1 FROM api_keys WHERE name = 'huge'").first()).toBeNull();
  });

  it("refuses a member with the API's 403 and creates nothing", async () => {
    const res = await post(`/${org}/keys`, { name: "by member", scopes: ["content:read"] }, member);
    expect(res.status).toBe(403);
    expect(await env.DB.prepare("SELECT 1 FROM api_keys WHERE name = 'by member'").first()).toBeNull();
  });
});

describe("key actions in the console", () => {
  it("asks before revoking, then revokes: revoked_at is set, key.revoke is audited and the gateway refuses the key", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const asked = await post(`/${org}/keys/${key.id}/revoke`, {});
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain("Yes, revoke key");
    expect((await keyRow(key.id))?.revoked_at).toBeNull();

    const done = await post(`/${org}/keys/${key.id}/revoke`, { confirmed: "yes" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`${CONSOLE}/${org}/keys/${key.id}?done=revoke`);
    expect((await keyRow(key.id))?.revoked_at).not.toBeNull();
    expect(await adminEvent("key.revoke", key.id)).toMatchObject({ caller: "session", org_id: org });
    const gateway = await call("/api/v1/site/pages?productId=x", { headers: { "x-api-key": key.key } });
    expect(gateway.status).toBe(401);
  });

  it("does not let a member revoke: the API's 403 is shown and the key stays live", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await post(`/${org}/keys/${key.id}/revoke`, { confirmed: "yes" }, member);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("insufficient_scope");
    expect((await keyRow(key.id))?.revoked_at).toBeNull();
  });

  it("rotates with a grace period and shows the successor's raw key once", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await post(`/${org}/keys/${key.id}/rotate`, { grace_seconds: "3600", confirmed: "yes" });
    expect(res.status).toBe(200);
    const raw = /kg_live_[0-9A-Za-z]{38}/.exec(await res.text())?.[0];
    const old = await keyRow(key.id);
    const successor = await env.DB.prepare("SELECT id FROM api_keys WHERE key_hash = ?").bind(await sha256Hex(raw!)).first<{ id: string }>();
    expect(old?.rotated_to).toBe(successor?.id);
    expect(await adminEvent("key.rotate", key.id)).toMatchObject({ caller: "session" });
    const chain = await (await page(`/${org}/keys/${successor!.id}`)).text();
    expect(chain).toContain("rotation grace");
  });

  it("narrows scopes, edits allowlists and switches report mode to enforce, each one PATCH audited as key.update", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "stories:read"], restrictions_mode: "report" });
    expect((await post(`/${org}/keys/${key.id}/scopes`, { scopes: "content:read", confirmed: "yes" })).status).toBe(303);
    expect((await keyRow(key.id))?.scopes).toBe('["content:read"]');
    const allowlists = { allowed_ips: "203.0.113.0/24\n2001:db8::/32", allowed_origins: "https://app.example.com", confirmed: "yes" };
    expect((await post(`/${org}/keys/${key.id}/allowlists`, allowlists)).status).toBe(303);
    expect(await keyRow(key.id)).toMatchObject({ allowed_ips: '["203.0.113.0/24","2001:db8::/32"]', allowed_origins: '["https://app.example.com"]' });
    expect((await post(`/${org}/keys/${key.id}/enforce`, { confirmed: "yes" })).status).toBe(303);
    expect((await keyRow(key.id))?.restrictions_mode).toBe("enforce");
    expect(await adminEvent("key.update", key.id)).toMatchObject({ caller: "session", org_id: org });
  });

  it("acts on the key of the org in the URL, also when the user's active org is another one", async () => {
    const both = await signUp("Two Orgs");
    const first = await createOrgAs(both, "First");
    const active = await createOrgAs(both, "Active");
    expect((await authPost("/organization/set-active", { organizationId: active }, both.cookie)).status).toBe(200);
    const key = await createKey({ org_id: first, scopes: ["content:read", "stories:read"] });
    expect((await post(`/${first}/keys/${key.id}/scopes`, { scopes: "content:read", confirmed: "yes" }, both)).status).toBe(303);
    expect((await keyRow(key.id))?.scopes).toBe('["content:read"]');
    expect((await post(`/${first}/keys/${key.id}/revoke`, { confirmed: "yes" }, both)).status).toBe(303);
    expect((await keyRow(key.id))?.revoked_at).not.toBeNull();
  });

  it("answers 404 for an action it does not know, and changes nothing", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await post(`/${org}/keys/${key.id}/constructor`, { confirmed: "yes" })).status).toBe(404);
    expect((await keyRow(key.id))?.revoked_at).toBeNull();
  });
});

describe("members and invitations in the console", () => {
  it("lists the org's members and lets an owner invite: the invitation row and an org.invite event", async () => {
    const html = await (await page(`/${org}/members`)).text();
    expect(html).toContain(owner.email);
    expect(html).toContain(member.email);
    const email = `${crypto.randomUUID()}@example.com`;
    const res = await post(`/${org}/members`, { email, role: "admin" });
    expect(res.status).toBe(201);
    const row = await env.DB.prepare("SELECT id, role, inviter_id FROM invitations WHERE email = ?").bind(email).first<{ id: string; role: string; inviter_id: string }>();
    expect(row).toMatchObject({ role: "admin", inviter_id: owner.userId });
    expect(await adminEvent("org.invite", row!.id)).toMatchObject({ caller: "session", org_id: org });
  });

  it("shows a member the API's 403 when inviting, and stores nothing", async () => {
    const email = `${crypto.randomUUID()}@example.com`;
    const res = await post(`/${org}/members`, { email, role: "member" }, member);
    expect(res.status).toBe(403);
    expect(await env.DB.prepare("SELECT 1 FROM invitations WHERE email = ?").bind(email).first()).toBeNull();
  });

  it("shows the inviter the invitation's link once; the invitee accepts it on its page and lands in the org", async () => {
    const invitee = await signUp("Invitee");
    const invited = await post(`/${org}/members`, { email: invitee.email, role: "member" });
    const link = /<output id="invitation-link"[^>]*>(https:\/\/gw\.test\/_keygate\/console\/invitations\/kgi_[0-9A-Za-z]{43})<\/output>/.exec(await invited.text())?.[1];
    expect(link).toBeDefined();
    const path = new URL(link!).pathname.replace(CONSOLE, "");
    expect(await (await page("", invitee)).text()).toContain("not a member of any org yet");
    expect(await (await page(path, invitee)).text()).toContain("Join Console Org as member.");
    expect((await post(path, {}, outsider)).status).toBe(403);
    const accepted = await post(path, {}, invitee);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("location")).toBe(`${CONSOLE}/${org}`);
    expect(await env.DB.prepare("SELECT role FROM members WHERE org_id = ? AND user_id = ?").bind(org, invitee.userId).first()).toEqual({ role: "member" });
    expect(await (await page(`/${org}/members`)).text()).not.toContain(link!);
  });
});

describe("least privilege on the key page", () => {
  it("shows the scopes allowed requests exercised next to the granted ones, and narrows to them in one confirmed step", async () => {
    const key = await createKey({ org_id: org, name: "overgranted", scopes: ["content:read", "stories:read", "media:read"] });
    await writeEvents(env, [
      auditEvent({ org_id: org, key_id: key.id, outcome: "allowed", required_scopes: ["content:read"] }),
      auditEvent({ org_id: org, key_id: key.id, outcome: "allowed", required_scopes: ["content:read"] }),
      auditEvent({ org_id: org, key_id: key.id, outcome: "denied", required_scopes: ["stories:write"] }),
    ]);
    const html = await (await page(`/${org}/keys/${key.id}`)).text();
    expect(html).toContain("content:read ×2");
    expect(html).not.toContain("stories:write");
    const form = /<form method="post" action="([^"]+\/scopes)" class="actions">(.*?)<\/form>/s.exec(html);
    expect(form?.[2]).toContain('value="content:read"');
    expect((await post(`/${org}/keys/${key.id}/scopes`, { scopes: "content:read", confirmed: "yes" })).status).toBe(303);
    expect((await keyRow(key.id))?.scopes).toBe('["content:read"]');
  });
});

describe("what the console renders", () => {
  it("escapes every value it shows: a key named like markup stays text", async () => {
    const key = await createKey({ org_id: org, name: `<img src=x onerror="alert(1)">`, scopes: ["content:read"] });
    const html = await (await page(`/${org}/keys/${key.id}`)).text();
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x");
  });

  it("shows every setting of a key, rate limits and quota included", async () => {
    const key = await createKey({
      org_id: org,
      scopes: ["content:read"],
      allowed_ips: ["198.51.100.0/24"],
      rate_limits: [{ name: "burst", limit: 100, window_s: 60, tier: "approximate" }],
      quota: { limit: 5000, period: "month" },
    });
    const html = await (await page(`/${org}/keys/${key.id}`)).text();
    expect(html).toContain("198.51.100.0/24");
    expect(html).toContain("burst: 100 per 60 s (approximate)");
    expect(html).toContain("5000 per month");
  });

  it("signs in only towards console pages: a next parameter to another site is ignored", async () => {
    const html = await (await page(`/sign-in?next=${encodeURIComponent("https://evil.example/")}`, null)).text();
    expect(html).toContain(`data-next="${CONSOLE}"`);
    expect(html).not.toContain("evil.example");
  });
});

describe("the keys table and overview", () => {
  it("filters keys by state and prefix, and shows each key's 24 h counts", async () => {
    const live = await createKey({ org_id: org, name: "table live", scopes: ["content:read"] });
    const expiring = await createKey({ org_id: org, name: "table expiring", scopes: ["content:read"], expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    await writeEvents(env, [
      auditEvent({ org_id: org, key_id: live.id, outcome: "allowed" }),
      auditEvent({ org_id: org, key_id: live.id, outcome: "denied", reason: "ip_not_allowed" }),
    ]);
    const expiringPage = await (await page(`/${org}/keys?state=expiring`)).text();
    expect(expiringPage).toContain("table expiring");
    expect(expiringPage).not.toContain("table live");
    const byPrefix = await (await page(`/${org}/keys?prefix=${live.key.slice(0, 12)}`)).text();
    expect(byPrefix).toContain("table live");
    expect(byPrefix).not.toContain("table expiring");
    expect(byPrefix).toMatch(/<span class="o-allowed">1<\/span> \/ <span class="o-denied">1<\/span>/);
    const overview = await (await page(`/${org}`)).text();
    expect(overview).toContain("ip_not_allowed");
    expect(overview).toContain("table expiring");
    expect(expiring.id).toBeDefined();
  });

  it("lists the keys with most denials by name, linked to their page, and by id where no such key exists", async () => {
    const denied = await createKey({ org_id: org, name: "often denied", scopes: ["content:read"] });
    const gone = "key_01KGONEKGONEKGONEKGONEKGON";
    await writeEvents(env, [
      auditEvent({ org_id: org, key_id: denied.id, outcome: "denied", reason: "insufficient_scope" }),
      auditEvent({ org_id: org, key_id: gone, outcome: "denied", reason: "insufficient_scope" }),
    ]);
    const overview = await (await page(`/${org}`)).text();
    const panel = overview.slice(overview.indexOf("Keys with most denials"), overview.indexOf("Expiring within 7 days"));
    expect(panel).toContain(`<a href="${CONSOLE}/${org}/keys/${denied.id}">often denied</a>`);
    expect(panel).toContain(`<span class="mono">${gone}</span>`);
    expect(panel).not.toContain(`/keys/${gone}`);
  });
});

describe("the audit explorer", () => {
  it("filters by outcome and links exports of the same filter to the streamed export", async () => {
    await writeEvents(env, [
      auditEvent({ org_id: org, outcome: "denied", reason: "origin_not_allowed", path: "/explorer/denied" }),
      auditEvent({ org_id: org, outcome: "allowed", path: "/explorer/allowed" }),
    ]);
    const html = await (await page(`/${org}/audit?outcome=denied&range=24h`)).text();
    expect(html).toContain("/explorer/denied");
    expect(html).not.toContain("/explorer/allowed");
    const csvLink = /href="(\/_keygate\/v1\/audit\?[^"]*format=csv[^"]*)"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
    expect(csvLink).toContain("outcome=denied");
    const csv = await call(csvLink!, { headers: { cookie: owner.cookie } });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    expect(text).toContain("/explorer/denied");
    expect(text).not.toContain("/explorer/allowed");
  });

  it("never shows another org's events, whatever the filter says", async () => {
    await writeEvents(env, [auditEvent({ org_id: otherOrg, path: "/org-b/secret-path" })]);
    const html = await (await page(`/${org}/audit?org_id=${otherOrg}`)).text();
    expect(html).not.toContain("/org-b/secret-path");
  });
});
