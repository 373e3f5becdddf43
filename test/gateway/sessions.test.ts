/**
 * SPEC §1, §5, §6: dashboard session callers. The cookie is verified at the edge (and cached
 * briefly), scopes are skipped, the session acts for exactly one org it belongs to, and unsafe
 * methods need a listed Origin.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { membershipCache, projectMembershipId, sessionCache, sessionCacheKey } from "../../src/auth/session-cache";
import policyJson from "../../policy.json";
import { newId } from "../../src/core/ids";
import {
  addMember,
  authPost,
  createOrgAs,
  DASHBOARD_ORIGIN,
  type DashboardUser,
  SESSION_COOKIE_NAME,
  signedCookieValue,
  signIn,
  signUp,
} from "../helpers/auth";
import { admin, call, callWithEnv, createOrg, createProject, type Echo, json } from "../helpers/worker";

let ann: DashboardUser;
let annOrg: string;
let annProject: string;
let bobOrg: string;
let bobProject: string;

beforeAll(async () => {
  ann = await signUp("Ann");
  annOrg = await createOrgAs(ann, "Ann's org");
  annProject = await createProject(annOrg, "ann_product");
  const bob = await signUp("Bob");
  bobOrg = await createOrgAs(bob, "Bob's org");
  bobProject = await createProject(bobOrg, "bob_product");
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function get(path: string, user: DashboardUser | string, headers: Record<string, string> = {}): Promise<Response> {
  const cookie = typeof user === "string" ? user : user.cookie;
  return call(path, { headers: { cookie, ...headers } });
}

async function echoed(res: Response): Promise<Record<string, string>> {
  expect(res.status).toBe(200);
  return (await json<Echo>(res)).headers;
}

async function expectError(res: Response, status: number, message: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(await json(res)).toMatchObject({ ok: false, message });
}

/** The KV value cached for `id` in `namespace`, whatever the cache's key versioning; `null` if none. */
async function cachedInKv(namespace: string, id: string): Promise<unknown> {
  const { keys } = await env.KEY_CACHE.list({ prefix: `${namespace}:` });
  const name = keys.find((key) => key.name.endsWith(`:${id}`))?.name;
  return name === undefined ? null : env.KEY_CACHE.get(name, "json");
}

function sessionSql(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls.map(([sql]) => String(sql)).filter((sql) => /"sessions"|\bmembers\b/.test(sql));
}

describe("session callers", () => {
  it("forwards a member's request on its org's project as caller session, with user, org and project", async () => {
    const headers = await echoed(await get(`/api/v1/projects/${annProject}`, ann));
    expect(headers).toMatchObject({
      "x-keygate-caller": "session",
      "x-keygate-user-id": ann.userId,
      "x-keygate-org-id": annOrg,
      "x-keygate-project-id": annProject,
    });
    expect(headers["x-keygate-scopes"]).toBeUndefined();
    expect(headers["x-keygate-key-id"]).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
  });

  it("does not check the route's scopes", async () => {
    // POST /api/v1/site/pages requires content:write, which no session holds.
    const res = await call(`/api/v1/site/pages?productId=${annProject}`, {
      method: "POST",
      headers: { cookie: ann.cookie, origin: DASHBOARD_ORIGIN },
    });
    expect((await echoed(res))["x-keygate-project-id"]).toBe(annProject);
  });

  it("answers 403 project_mismatch for another org's project", async () => {
    await expectError(await get(`/api/v1/projects/${bobProject}`, ann), 403, "project_mismatch");
  });

  it("answers 403 project_mismatch for a project no org has", async () => {
    await expectError(await get("/api/v1/projects/nobody_has_this", ann), 403, "project_mismatch");
  });

  it("answers 403 project_mismatch when the user belongs to no org", async () => {
    const loner = await signUp("Loner");
    await expectError(await get(`/api/v1/projects/${annProject}`, loner), 403, "project_mismatch");
  });

  it("acts in the user's only org on a route that names no project", async () => {
    const headers = await echoed(await get("/api/v1/products", ann));
    expect(headers["x-keygate-org-id"]).toBe(annOrg);
    expect(headers["x-keygate-project-id"]).toBeUndefined();
  });

  it("acts in the user's only org on an origin route, without a project", async () => {
    const headers = await echoed(await get("/api/v1/stories", ann));
    expect(headers["x-keygate-org-id"]).toBe(annOrg);
    expect(headers["x-keygate-project-id"]).toBeUndefined();
  });

  it("acts for the session's active organization on a route that names no project, and follows set-active at once", async () => {
    const carol = await signUp("Carol");
    const first = await createOrgAs(carol);
    const second = await createOrgAs(carol);
    expect((await echoed(await get("/api/v1/products", carol)))["x-keygate-org-id"]).toBe(second);
    expect((await authPost("/organization/set-active", { organizationId: first }, carol.cookie)).status).toBe(200);
    expect((await echoed(await get("/api/v1/products", carol)))["x-keygate-org-id"]).toBe(first);
  });

  it("answers 403 org_required on a route that names no project for a user of several orgs without an active one", async () => {
    const carol = await signUp("Carol");
    await createOrgAs(carol);
    await createOrgAs(carol);
    const fresh = await signIn(carol.email);
    const res = await get("/api/v1/products", fresh);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "org_required" });
  });

  it.each([
    ["GET", "/api/v1/products"],
    ["POST", "/api/v1/products"],
    ["POST", "/api/v1/stories/s1/publish"],
    ["GET", "/api/v1/stories"],
  ])("answers 403 org_required to a user without any org on %s %s, which names no project", async (method, path) => {
    const loner = await signUp("Loner");
    const res = await call(path, { method, headers: { cookie: loner.cookie, origin: DASHBOARD_ORIGIN } });
    await expectError(res, 403, "org_required");
  });

  it("answers 403 org_required once the user has left the active org, rather than acting for another", async () => {
    const dave = await signUp("Dave");
    await createOrgAs(dave);
    await addMember(annOrg, dave.userId);
    expect((await authPost("/organization/set-active", { organizationId: annOrg }, dave.cookie)).status).toBe(200);
    expect((await echoed(await get("/api/v1/products", dave)))["x-keygate-org-id"]).toBe(annOrg);
    const removed = await authPost("/organization/remove-member", { memberIdOrEmail: dave.email, organizationId: annOrg }, ann.cookie);
    expect(removed.status).toBe(200);
    await expectError(await get("/api/v1/products", dave), 403, "org_required");
  });

  it("acts for the org of the named project even when another org is active", async () => {
    const erin = await signUp("Erin");
    await addMember(annOrg, erin.userId);
    await createOrgAs(erin);
    const headers = await echoed(await get(`/api/v1/projects/${annProject}`, erin));
    expect(headers).toMatchObject({ "x-keygate-org-id": annOrg, "x-keygate-project-id": annProject });
  });

  it("passes a session without an org on a public route as an anonymous caller", async () => {
    const loner = await signUp("Loner");
    const headers = await echoed(await get("/public/page", loner));
    expect(headers["x-keygate-caller"]).toBeUndefined();
    expect(headers["x-keygate-user-id"]).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
  });

  it("answers 403 org_required on a route with sessions: false, also for a member of the project's org", async () => {
    const policy = structuredClone(policyJson) as { routes: Record<string, unknown>[] };
    policy.routes.unshift({ method: "GET", path: "/api/v1/projects/:id", scopes: ["projects:read"], project: { param: "id" }, sessions: false });
    const res = await callWithEnv(`/api/v1/projects/${annProject}`, { POLICY: JSON.stringify(policy) }, { headers: { cookie: ann.cookie } });
    await expectError(res, 403, "org_required");
  });

  it("works for an org made with the admin API once better-auth adds the user as a member", async () => {
    const org = await createOrg("Admin-made org");
    const project = await createProject(org, "admin_made_product");
    const erin = await signUp("Erin");
    await expectError(await get(`/api/v1/projects/${project}`, erin), 403, "project_mismatch");
    await addMember(org, erin.userId);
    expect((await echoed(await get(`/api/v1/projects/${project}`, erin)))["x-keygate-org-id"]).toBe(org);
  });

  it("records the session, the user's org and the project in the audit event", async () => {
    const res = await get(`/api/v1/projects/${annProject}`, ann);
    const requestId = res.headers.get("x-request-id")!;
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT caller, org_id, project_id, key_id, outcome FROM audit_events WHERE request_id = ?")
        .bind(requestId)
        .first();
      expect(row).toEqual({ caller: "session", org_id: annOrg, project_id: annProject, key_id: null, outcome: "allowed" });
    });
  });

  it("acts at the admin API for the user's org (SPEC §8; roles are pinned in test/admin/security.test.ts)", async () => {
    const res = await admin("GET", "/keys", undefined, { cookie: ann.cookie });
    expect(res.status).toBe(200);
  });
});

describe("invalid sessions", () => {
  it("answers 401 invalid session, with a WWW-Authenticate challenge, for a forged signature without reading KV or D1", async () => {
    const forged = await signedCookieValue(ann.token, "another-secret-of-sufficient-length-0123456789");
    const kv = vi.spyOn(env.KEY_CACHE, "get");
    const d1 = vi.spyOn(env.DB, "prepare");
    const res = await get(`/api/v1/projects/${annProject}`, `${SESSION_COOKIE_NAME}=${forged}`);
    await expectError(res, 401, "invalid session");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keygate"');
    expect(kv).not.toHaveBeenCalled();
    expect(sessionSql(d1)).toEqual([]);
  });

  it.each([
    ["a cookie without a signature", "just-a-token"],
    ["a signature of the wrong length", "token.c2ln"],
    ["a signature that is not base64", `token.${"!".repeat(43)}=`],
    ["an empty cookie", ""],
  ])("answers 401 invalid session for %s", async (_, value) => {
    await expectError(await get("/api/v1/products", `${SESSION_COOKIE_NAME}=${value}`), 401, "invalid session");
  });

  it("answers 401 invalid session for a correctly signed token no session has", async () => {
    const unknown = await signedCookieValue("NoSuchSessionToken0123456789abcd");
    await expectError(await get("/api/v1/products", `${SESSION_COOKIE_NAME}=${unknown}`), 401, "invalid session");
  });

  it("answers 401 invalid session for an expired session", async () => {
    const user = await signIn(ann.email);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE token = ?").bind(new Date(Date.now() - 1000).toISOString(), user.token).run();
    await expectError(await get("/api/v1/products", user), 401, "invalid session");
  });

  it("stops accepting a cached session once it expires, before the cache entry does", async () => {
    const user = await signIn(ann.email);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE token = ?").bind(new Date(Date.now() + 5_000).toISOString(), user.token).run();
    expect((await get("/api/v1/products", user)).status).toBe(200);
    vi.useFakeTimers({ now: Date.now() + 10_000, toFake: ["Date"] });
    await expectError(await get("/api/v1/products", user), 401, "invalid session");
  });

  it("stops accepting a signed-out session at once in this Worker", async () => {
    const user = await signIn(ann.email);
    expect((await get("/api/v1/products", user)).status).toBe(200);
    expect((await authPost("/sign-out", {}, user.cookie)).status).toBe(200);
    expect(await env.DB.prepare("SELECT 1 FROM sessions WHERE token = ?").bind(user.token).first()).toBeNull();
    await expectError(await get("/api/v1/products", user), 401, "invalid session");
  });
});

describe("CSRF: unsafe methods with a session", () => {
  const publish = (headers: Record<string, string>) => call("/api/v1/stories/s1/publish", { method: "POST", headers: { cookie: ann.cookie, ...headers } });

  it("answers 403 origin_not_allowed without an Origin", async () => {
    await expectError(await publish({}), 403, "origin_not_allowed");
  });

  it("answers 403 origin_not_allowed for an Origin not in the policy's cors.origins", async () => {
    await expectError(await publish({ origin: "https://evil.example" }), 403, "origin_not_allowed");
  });

  it("passes with an Origin listed in the policy's cors.origins", async () => {
    const res = await publish({ origin: DASHBOARD_ORIGIN });
    expect((await echoed(res))["x-keygate-caller"]).toBe("session");
    expect(res.headers.get("access-control-allow-origin")).toBe(DASHBOARD_ORIGIN);
  });

  it("checks the Origin before the project (SPEC §4 order)", async () => {
    const res = await call(`/api/v1/site/pages?productId=${bobProject}`, { method: "POST", headers: { cookie: ann.cookie } });
    await expectError(res, 403, "origin_not_allowed");
  });

  it("lets safe methods through without an Origin", async () => {
    expect((await get("/api/v1/products", ann)).status).toBe(200);
  });
});

describe("session cache", () => {
  it("serves a known session and its memberships without reading D1", async () => {
    const user = await signIn(ann.email);
    expect((await get(`/api/v1/projects/${annProject}`, user)).status).toBe(200);
    const prepare = vi.spyOn(env.DB, "prepare");
    const replica = vi.spyOn(env.DB, "withSession");
    expect((await get(`/api/v1/projects/${annProject}`, user)).status).toBe(200);
    expect(sessionSql(prepare)).toEqual([]);
    expect(replica).not.toHaveBeenCalled();
  });

  it("keeps sessions in KV under the token's SHA-256, never the token", async () => {
    const user = await signIn(ann.email);
    expect((await get("/api/v1/products", user)).status).toBe(200);
    const hash = await sessionCacheKey(user.token);
    await vi.waitFor(async () => expect(await cachedInKv("session", hash)).toMatchObject({ value: { userId: ann.userId } }));
    const { keys } = await env.KEY_CACHE.list();
    const values = await Promise.all(keys.map((key) => env.KEY_CACHE.get(key.name)));
    expect(JSON.stringify([keys, values])).not.toContain(user.token);
  });

  it("serves from KV when this isolate's memory is cold and D1 is down", async () => {
    const user = await signIn(ann.email);
    expect((await get(`/api/v1/projects/${annProject}`, user)).status).toBe(200);
    const hash = await sessionCacheKey(user.token);
    await vi.waitFor(async () => expect(await cachedInKv("session", hash)).not.toBeNull());
    await vi.waitFor(async () => expect(await cachedInKv("member", projectMembershipId(ann.userId, annProject))).not.toBeNull());
    sessionCache.clearMemory();
    membershipCache.clearMemory();
    breakD1();
    expect((await get(`/api/v1/projects/${annProject}`, user)).status).toBe(200);
  });

  it("fails closed with 503 when D1 is down and the session is cached nowhere", async () => {
    const user = await signIn(ann.email);
    breakD1();
    const res = await get("/api/v1/products", user);
    await expectError(res, 503, "auth backend unavailable");
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("applies a removed membership at once in this Worker", async () => {
    const frank = await signUp("Frank");
    await addMember(annOrg, frank.userId);
    expect((await get(`/api/v1/projects/${annProject}`, frank)).status).toBe(200);
    const removed = await authPost("/organization/remove-member", { memberIdOrEmail: frank.email, organizationId: annOrg }, ann.cookie);
    expect(removed.status).toBe(200);
    await expectError(await get(`/api/v1/projects/${annProject}`, frank), 403, "project_mismatch");
  });

  it("applies leaving an org at once in this Worker", async () => {
    const grace = await signUp("Grace");
    await addMember(annOrg, grace.userId);
    expect((await get(`/api/v1/projects/${annProject}`, grace)).status).toBe(200);
    expect((await authPost("/organization/leave", { organizationId: annOrg }, grace.cookie)).status).toBe(200);
    await expectError(await get(`/api/v1/projects/${annProject}`, grace), 403, "project_mismatch");
  });
});

describe("session cookies (SPEC §1)", () => {
  const plain = "better-auth.session_token";
  const secure = "__Secure-better-auth.session_token";

  it("with BETTER_AUTH_URL on https, counts only the __Secure- cookie better-auth sets, and still strips the other name", async () => {
    await expectError(await get("/api/v1/products", `${plain}=${ann.cookieValue}`), 401, "missing credentials");
    const headers = await echoed(await get("/public/page", `theme=dark; ${plain}=${ann.cookieValue}`));
    expect(headers.cookie).toBe("theme=dark");
    expect((await echoed(await get("/api/v1/products", `theme=dark; ${secure}=${ann.cookieValue}`)))["x-keygate-user-id"]).toBe(ann.userId);
  });

  it("with BETTER_AUTH_URL on http, counts only the plain cookie better-auth sets", async () => {
    const http = { BETTER_AUTH_URL: "http://gw.test" };
    const asSecure = await callWithEnv("/api/v1/products", http, { headers: { cookie: `${secure}=${ann.cookieValue}` } });
    await expectError(asSecure, 401, "missing credentials");
    const asPlain = await callWithEnv("/api/v1/products", http, { headers: { cookie: `${plain}=${ann.cookieValue}` } });
    expect((await echoed(asPlain))["x-keygate-user-id"]).toBe(ann.userId);
  });

  it("counts the SESSION_COOKIE name too, and strips it", async () => {
    const res = await callWithEnv("/api/v1/products", { SESSION_COOKIE: "my_session" }, { headers: { cookie: `my_session=${ann.cookieValue}; a=1` } });
    const headers = await echoed(res);
    expect(headers["x-keygate-user-id"]).toBe(ann.userId);
    expect(headers.cookie).toBe("a=1");
  });

  it("reads and strips a session cookie sent in a second Cookie header", async () => {
    const headers = new Headers([["cookie", "theme=dark"], ["cookie", ann.cookie]]);
    const forwarded = await echoed(await call("/api/v1/products", { headers }));
    expect(forwarded["x-keygate-user-id"]).toBe(ann.userId);
    expect(forwarded.cookie).toBe("theme=dark");
  });

  it("answers 401 invalid session for two session cookies of different values, also in two Cookie headers", async () => {
    const other = await signIn(ann.email);
    await expectError(await get("/api/v1/products", `${ann.cookie}; ${other.cookie}`), 401, "invalid session");
    const headers = new Headers([["cookie", ann.cookie], ["cookie", other.cookie]]);
    await expectError(await call("/api/v1/products", { headers }), 401, "invalid session");
  });

  it("accepts the same session cookie sent twice", async () => {
    expect((await echoed(await get("/api/v1/products", `${ann.cookie}; ${ann.cookie}`)))["x-keygate-user-id"]).toBe(ann.userId);
  });
});

describe("session cost (one membership query per request)", () => {
  it("reads one indexed membership row per request for a user in 150 orgs, then none while cached", async () => {
    const many = await signUp("Many");
    const now = new Date().toISOString();
    const orgIds = Array.from({ length: 150 }, () => newId("org"));
    await env.DB.batch([
      ...orgIds.flatMap((id) => [
        env.DB.prepare("INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)").bind(id, "Many's org", id.toLowerCase(), now),
        env.DB.prepare("INSERT INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)").bind(newId("mem"), id, many.userId, now),
      ]),
    ]);
    const project = await createProject(orgIds[149]!);
    await authPost("/organization/set-active", { organizationId: orgIds[7] }, many.cookie);
    expect((await get("/api/v1/products", many)).status).toBe(200);

    const statements = recordStatements();
    // Audit events land in D1 asynchronously; only the statements that authorize count here.
    const authorizing = () => statements.filter((sql) => /\b(members|projects|"?sessions"?)\b/.test(sql));
    expect((await echoed(await get(`/api/v1/projects/${project}`, many)))["x-keygate-org-id"]).toBe(orgIds[149]);
    expect(authorizing()).toHaveLength(1);
    statements.length = 0;
    expect((await echoed(await get(`/api/v1/projects/${project}`, many)))["x-keygate-org-id"]).toBe(orgIds[149]);
    expect((await echoed(await get("/api/v1/products", many)))["x-keygate-org-id"]).toBe(orgIds[7]);
    expect(authorizing()).toEqual([]);
  });
});

/** Every SQL statement prepared on DB (directly or through a D1 session) from now on. */
function recordStatements(): string[] {
  const statements: string[] = [];
  const prepare = env.DB.prepare.bind(env.DB);
  vi.spyOn(env.DB, "prepare").mockImplementation((sql) => (statements.push(sql), prepare(sql)));
  const withSession = env.DB.withSession.bind(env.DB);
  vi.spyOn(env.DB, "withSession").mockImplementation((constraint) => {
    const session = withSession(constraint);
    const sessionPrepare = session.prepare.bind(session);
    session.prepare = (sql) => (statements.push(sql), sessionPrepare(sql));
    return session;
  });
  return statements;
}

function breakD1(): void {
  const down = () => {
    throw new Error("D1_ERROR: database unavailable");
  };
  vi.spyOn(env.DB, "prepare").mockImplementation(down);
  vi.spyOn(env.DB, "withSession").mockImplementation(down);
}
