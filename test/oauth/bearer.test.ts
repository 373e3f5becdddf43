/**
 * OAuth access tokens as gateway and admin API credentials: verified at the edge through the tiered
 * cache, scopes checked like an API key's (with the RFC 6750 challenge), project rules like a key
 * bound to the token's project or an unbound key of its org, identity forwarded to the origin.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { accessTokenCache } from "../../src/credentials/access-tokens";
import { createOrgAs, type DashboardUser, signUp } from "../helpers/auth";
import { authorizeDevice, bearer, type TokenResponse } from "../helpers/oauth";
import { admin, call, createProject, type Echo, json } from "../helpers/worker";

let ann: DashboardUser;
let annOrg: string;
let annProject: string;
let otherAnnProject: string;
let bobProject: string;
let reader: TokenResponse;

beforeAll(async () => {
  ann = await signUp("Ann");
  annOrg = await createOrgAs(ann, "Ann's org");
  annProject = await createProject(annOrg, "ann_product");
  otherAnnProject = await createProject(annOrg, "ann_other");
  const bob = await signUp("Bob");
  bobProject = await createProject(await createOrgAs(bob, "Bob's org"), "bob_product");
  reader = await authorizeDevice(ann, annOrg, "content:read projects:read");
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

async function expectError(res: Response, status: number, message: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(await json(res)).toMatchObject({ ok: false, message });
}

describe("OAuth bearer callers at the gateway", () => {
  it("forwards an allowed request as caller oauth with user, org, project and scopes", async () => {
    const res = await call(`/api/v1/projects/${annProject}`, { headers: bearer(reader.access_token) });
    expect(res.status).toBe(200);
    const { headers } = await json<Echo>(res);
    expect(headers).toMatchObject({
      "x-keygate-caller": "oauth",
      "x-keygate-user-id": ann.userId,
      "x-keygate-org-id": annOrg,
      "x-keygate-project-id": annProject,
      "x-keygate-scopes": "content:read projects:read",
    });
    expect(headers["x-keygate-key-id"]).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
  });

  it("answers 403 insufficient_scope with the RFC 6750 challenge naming the route's scopes", async () => {
    const res = await call("/api/v1/site/pages", { method: "POST", headers: bearer(reader.access_token) });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="content:write"');
    await expectError(res, 403, "insufficient_scope");
  });

  it("refuses another org's project with 403 project_mismatch", async () => {
    await expectError(await call(`/api/v1/projects/${bobProject}`, { headers: bearer(reader.access_token) }), 403, "project_mismatch");
  });

  it("binds a token granted for one project like a bound key", async () => {
    const bound = await authorizeDevice(ann, annOrg, "projects:read content:read", annProject);
    expect(bound.project_id).toBe(annProject);
    expect((await call(`/api/v1/projects/${annProject}`, { headers: bearer(bound.access_token) })).status).toBe(200);
    await expectError(await call(`/api/v1/projects/${otherAnnProject}`, { headers: bearer(bound.access_token) }), 403, "project_mismatch");
    await expectError(await call("/api/v1/site/pages", { headers: bearer(bound.access_token) }), 403, "project_mismatch");
  });

  it("refuses an expired token with 401 invalid token, also while it is cached", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "content:read");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    vi.useFakeTimers({ now: Date.now() + 3_600_000, toFake: ["Date"] });
    const res = await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    await expectError(res, 401, "invalid token");
  });

  it("refuses a malformed token without any D1 read", async () => {
    const prepare = vi.spyOn(env.DB, "withSession");
    await expectError(await call("/api/v1/site/pages", { headers: bearer("kgo_at_short") }), 401, "invalid token");
    expect(prepare).not.toHaveBeenCalled();
  });

  it("caches a verified token: the next request reads no D1", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "content:read");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    const reads = vi.spyOn(env.DB, "withSession");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    expect(reads).not.toHaveBeenCalled();
  });

  it("fails closed with 503 when D1 is down and the token is cached nowhere", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "content:read");
    accessTokenCache.clearMemory();
    vi.spyOn(env.DB, "withSession").mockImplementation(() => {
      throw new Error("D1_ERROR: database unavailable");
    });
    await expectError(await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) }), 503, "auth backend unavailable");
  });

  it("records caller oauth with the token's org and no key in the audit event", async () => {
    const res = await call(`/api/v1/projects/${annProject}`, { headers: bearer(reader.access_token) });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id");
    await vi.waitFor(
      async () => {
        const row = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(requestId).first();
        expect(row).toMatchObject({ caller: "oauth", org_id: annOrg, project_id: annProject, key_id: null, key_prefix: null, outcome: "allowed" });
      },
      { timeout: 5000, interval: 50 },
    );
  });
});

describe("OAuth bearer callers at the admin API", () => {
  it("creates a key in the token's org with keygate:keys:write", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "keygate:keys:write content:read");
    const res = await admin("POST", "/keys", { name: "from the CLI", scopes: ["content:read"] }, bearer(tokens.access_token));
    expect(res.status).toBe(201);
    const { data } = await json<{ data: { org_id: string; expires_at: string | null; key: string } }>(res);
    expect(data).toMatchObject({ org_id: annOrg, expires_at: null });
    expect((await call("/api/v1/site/pages", { headers: { "x-api-key": data.key } })).status).toBe(200);
  });

  it("never grants more than the token holds", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "keygate:keys:write content:read");
    const res = await admin("POST", "/keys", { name: "wider", scopes: ["content:write"] }, bearer(tokens.access_token));
    await expectError(res, 403, "insufficient_scope");
  });

  it("refuses a token without keygate: scopes with 403 and the challenge", async () => {
    const res = await admin("POST", "/keys", { name: "nope", scopes: ["content:read"] }, bearer(reader.access_token));
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="keygate:keys:write"');
    await expectError(res, 403, "insufficient_scope");
  });

  it("sees only the token's org", async () => {
    const tokens = await authorizeDevice(ann, annOrg, "keygate:keys:read");
    const list = await admin("GET", "/keys", undefined, bearer(tokens.access_token));
    expect(list.status).toBe(200);
    const { data } = await json<{ data: { org_id: string }[] }>(list);
    expect(data.every((key) => key.org_id === annOrg)).toBe(true);
    expect((await admin("GET", "/keys?org_id=org_00000000000000000000000000", undefined, bearer(tokens.access_token))).status).toBe(404);
  });

  it("refuses an unknown token with 401 invalid token", async () => {
    await expectError(await admin("GET", "/keys", undefined, bearer("kgo_at_" + "Z".repeat(43))), 401, "invalid token");
  });
});
