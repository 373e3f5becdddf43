/**
 * SPEC §4: every response the gateway produces itself, row by row, in the contract's shape.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { keyCache } from "../../src/credentials/key-cache";
import { generateApiKey } from "../../src/core/api-key";
import { call, createKey, createOrg, createProject, json } from "../helpers/worker";

interface ErrorBody {
  ok: false;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

async function expectError(res: Response, status: number, code: string, message: string): Promise<ErrorBody> {
  const body = await json<ErrorBody>(res);
  expect({ status: res.status, code: body.code, message: body.message }).toEqual({ status, code, message });
  expect(body.ok).toBe(false);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  return body;
}

async function fetchWithEnv(path: string, overrides: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gw.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const sites = "/api/v1/site/pages";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("gateway responses (SPEC §4)", () => {
  it("answers 400 invalid_request for an encoded slash in the path", async () => {
    const body = await expectError(await call("/api/v1/stories/a%2Fb/publish", { method: "POST" }), 400, "BAD_REQUEST", "invalid_request");
    expect(body.details?.issues).toEqual([{ path: "path", message: expect.any(String) }]);
  });

  it.each(["/api/v1/site/pages%00", "/api/v1/site%5Cpages", "/api/v1/site%2fpages"])("answers 400 for the ambiguous path %s", async (path) => {
    await expectError(await call(path), 400, "BAD_REQUEST", "invalid_request");
  });

  it.each(["/public/..;/api/v1/site/pages", "/public/%2e%2e;/api/v1/site/pages", "/public/..%3B/api/v1/site/pages", "/public/.%2E%3b/x"])(
    "answers 400 for %s, a dot segment that servlet containers resolve past its ;",
    async (path) => {
      await expectError(await call(path), 400, "BAD_REQUEST", "invalid_request");
    },
  );

  it("answers 400 for a trailing slash that takes the path from a stricter route to a catch-all, which an origin ignoring the slash serves as the guarded path", async () => {
    const policy = {
      scopes: { "content:read": "Read", "content:write": "Write" },
      routes: [{ method: "GET", path: "/admin/report", scopes: ["content:write"] }, { method: "*", path: "/admin/*", scopes: ["content:read"] }],
    };
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const get = (path: string) => fetchWithEnv(path, { POLICY: JSON.stringify(policy), ECHO: "1" }, { headers: { "x-api-key": key.key } });
    await expectError(await get("/admin/report"), 403, "FORBIDDEN", "insufficient_scope");
    await expectError(await get("/admin/report/"), 400, "BAD_REQUEST", "invalid_request");
    // A slash that keeps the route changes nothing.
    expect((await get("/admin/other/")).status).toBe(200);
  });

  it("answers 400 when a request names its project twice", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call(`${sites}?productId=a&productId=b`, { headers: { "x-api-key": key.key } });
    await expectError(res, 400, "BAD_REQUEST", "invalid_request");
  });

  it.each(["productId[]=product_victim", "productId[0]=product_victim", "%20productId=product_victim", "ProductId=product_victim"])(
    "checks the project named by %s like productId, so the spelling cannot skip the check (403)",
    async (query) => {
      const org = await createOrg();
      const key = await createKey({ org_id: org, scopes: ["content:read"] });
      const res = await call(`${sites}?${query}`, { headers: { "x-api-key": key.key } });
      await expectError(res, 403, "FORBIDDEN", "project_mismatch");
    },
  );

  it("answers 400 when a request names its project twice in two spellings", async () => {
    const org = await createOrg();
    await createProject(org, "product_mine");
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call(`${sites}?productId=product_mine&productId[]=product_victim`, { headers: { "x-api-key": key.key } });
    await expectError(res, 400, "BAD_REQUEST", "invalid_request");
  });

  it("answers 401 missing credentials without any credential, with a realm challenge (RFC 7235)", async () => {
    const res = await call(sites);
    await expectError(res, 401, "UNAUTHORIZED", "missing credentials");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keygate"');
  });

  it("answers 401 to a bearer API key with RFC 6750's invalid_token challenge", async () => {
    const res = await call(sites, { headers: { authorization: `Bearer ${generateApiKey("live")}` } });
    await expectError(res, 401, "UNAUTHORIZED", "invalid api key");
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it.each([
    ["bad format", "not-a-key"],
    ["bad checksum", `${generateApiKey("live").slice(0, -1)}0`],
    ["other env", generateApiKey("test")],
    ["unknown key", generateApiKey("live")],
    ["empty header", ""],
    ["10 KB value", "k".repeat(10_240)],
  ])("answers 401 invalid api key for a %s", async (_, key) => {
    await expectError(await call(sites, { headers: { "x-api-key": key } }), 401, "UNAUTHORIZED", "invalid api key");
  });

  it("answers 401 invalid api key for two x-api-key headers", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const headers = new Headers();
    headers.append("x-api-key", key.key);
    headers.append("x-api-key", key.key);
    await expectError(await call(sites, { headers }), 401, "UNAUTHORIZED", "invalid api key");
  });

  it("answers 401 invalid api key for a revoked key, even when it is also expired", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"], expires_at: new Date(Date.now() + 60_000).toISOString() });
    await env.DB.prepare("UPDATE api_keys SET expires_at = ?, revoked_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), new Date().toISOString(), key.id)
      .run();
    keyCache.clearMemory();
    await expectError(await call(sites, { headers: { "x-api-key": key.key } }), 401, "UNAUTHORIZED", "invalid api key");
  });

  it("answers 401 api key expired and api key not yet valid outside the validity window", async () => {
    const org = await createOrg();
    const early = await createKey({ org_id: org, scopes: ["content:read"], not_before: new Date(Date.now() + 3_600_000).toISOString() });
    await expectError(await call(sites, { headers: { "x-api-key": early.key } }), 401, "UNAUTHORIZED", "api key not yet valid");

    const late = await createKey({ org_id: org, scopes: ["content:read"], expires_at: new Date(Date.now() + 60_000).toISOString() });
    vi.useFakeTimers({ now: Date.now() + 120_000, toFake: ["Date"] });
    await expectError(await call(sites, { headers: { "x-api-key": late.key } }), 401, "UNAUTHORIZED", "api key expired");
    vi.useRealTimers();
  });

  it("answers 401 invalid token with an RFC 6750 challenge for a bad bearer token", async () => {
    const res = await call(sites, { headers: { authorization: "Bearer some-oauth-token" } });
    await expectError(res, 401, "UNAUTHORIZED", "invalid token");
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("answers 401 invalid token for Bearer without a token", async () => {
    await expectError(await call(sites, { headers: { authorization: "Bearer" } }), 401, "UNAUTHORIZED", "invalid token");
  });

  it("answers 401 invalid session for a session cookie it cannot verify", async () => {
    const res = await call(sites, { headers: { cookie: "__Secure-better-auth.session_token=abc.def" } });
    await expectError(res, 401, "UNAUTHORIZED", "invalid session");
  });

  it("answers 403 insufficient_scope naming required and missing scopes, with a bearer challenge", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/stories/s1/publish", { method: "POST", headers: { authorization: `Bearer ${key.key}` } });
    const body = await expectError(res, 403, "FORBIDDEN", "insufficient_scope");
    expect(body.details).toEqual({ requiredScopes: ["stories:publish"], missingScopes: ["stories:publish"] });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="stories:publish"');
  });

  it("answers 403 ip_not_allowed and origin_not_allowed outside the key's allowlists", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_ips: ["10.0.0.0/8"], allowed_origins: ["https://app.example.com"] });
    const outside = { "x-api-key": key.key, "cf-connecting-ip": "192.0.2.1" };
    await expectError(await call(sites, { headers: outside }), 403, "FORBIDDEN", "ip_not_allowed");
    const wrongOrigin = { "x-api-key": key.key, "cf-connecting-ip": "10.1.2.3", origin: "https://evil.example" };
    await expectError(await call(sites, { headers: wrongOrigin }), 403, "FORBIDDEN", "origin_not_allowed");
  });

  it("answers 403 project_mismatch for another org's project", async () => {
    const mine = await createOrg();
    const theirs = await createOrg();
    await createProject(theirs, "product_theirs");
    const key = await createKey({ org_id: mine, scopes: ["content:read"] });
    const res = await call(`${sites}?productId=product_theirs`, { headers: { "x-api-key": key.key } });
    await expectError(res, 403, "FORBIDDEN", "project_mismatch");
  });

  it("answers 404 no route before looking at any credential", async () => {
    const spy = vi.spyOn(env.DB, "withSession");
    await expectError(await call("/nowhere", { headers: { "x-api-key": generateApiKey("live") } }), 404, "NOT_FOUND", "no route");
    expect(spy).not.toHaveBeenCalled();
  });

  it("answers 404 not found for unknown ids in the admin API", async () => {
    await expectError(await call("/_keygate/v1/keys/key_nope", { headers: { authorization: "Bearer test-admin-token-0123456789abcdef" } }), 404, "NOT_FOUND", "not found");
  });

  it("answers 500 POLICY_INVALID naming the bad entry on every routed request", async () => {
    const policy = JSON.stringify({ scopes: { "content:read": "Read" }, routes: [{ method: "GET", path: "/x", scopes: ["content:wrte"] }] });
    for (let i = 0; i < 2; i++) {
      const body = await expectError(await fetchWithEnv("/x", { POLICY: policy }), 500, "POLICY_INVALID", expect.stringContaining("routes[0].scopes[0]") as unknown as string);
      expect(body.message).toContain("content:wrte");
    }
  });

  it("answers 502 origin unreachable with neither ORIGIN_URL nor ECHO", async () => {
    await expectError(await fetchWithEnv("/public/a", { ECHO: "" }), 502, "BAD_GATEWAY", "origin unreachable");
  });

  it("answers 502 when the origin cannot be reached and 504 when it does not answer in time", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(new TypeError("connection refused"));
    await expectError(await fetchWithEnv("/public/a", { ORIGIN_URL: "https://origin.test" }), 502, "BAD_GATEWAY", "origin unreachable");

    vi.spyOn(globalThis, "fetch").mockImplementationOnce((_input, init) => new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))));
    await expectError(await fetchWithEnv("/public/a", { ORIGIN_URL: "https://origin.test", ORIGIN_TIMEOUT_MS: "100" }), 504, "GATEWAY_TIMEOUT", "origin timeout");
  });

  it("answers 503 auth backend unavailable with Retry-After when D1 is down and nothing is cached", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    vi.spyOn(env.DB, "withSession").mockImplementation(() => {
      throw new Error("D1_ERROR: network connection lost");
    });
    const res = await call(sites, { headers: { "x-api-key": key.key } });
    await expectError(res, 503, "UNAVAILABLE", "auth backend unavailable");
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("answers every response with a fresh x-request-id and never echoes the client's", async () => {
    const first = await call("/public/a", { headers: { "x-request-id": "client-chosen" } });
    const second = await call("/public/a");
    expect(first.headers.get("x-request-id")).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(first.headers.get("x-request-id")).not.toBe(second.headers.get("x-request-id"));
  });
});
