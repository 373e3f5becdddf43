/**
 * SPEC §7: per-key IP/CIDR and Origin allowlists, report mode and project binding, through the
 * Worker on real local D1 and KV.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, createOrg, createProject, json } from "../helpers/worker";

let org: string;
beforeAll(async () => {
  org = await createOrg();
  await createProject(org, "product_1");
  await createProject(org, "product_2");
});

async function status(path: string, headers: Record<string, string>): Promise<string> {
  const res = await call(path, { headers });
  return res.status === 200 ? "200" : `${res.status} ${(await json<{ message: string }>(res)).message}`;
}

describe("IP allowlist", () => {
  const rules = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"];
  it.each([
    ["10.255.0.1", "200"],
    ["192.0.2.7", "200"],
    ["192.0.2.8", "403 ip_not_allowed"],
    ["::ffff:10.1.2.3", "200"],
    ["2001:db8:1::5", "200"],
    ["2001:db9::1", "403 ip_not_allowed"],
  ])("for CF-Connecting-IP %s answers %s", async (ip, expected) => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_ips: rules });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key, "cf-connecting-ip": ip })).toBe(expected);
  });

  it("denies a request without CF-Connecting-IP and never trusts X-Forwarded-For", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_ips: rules });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key, "x-forwarded-for": "10.0.0.1" })).toBe("403 ip_not_allowed");
  });

  it("allows any IP with an empty list", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key, "cf-connecting-ip": "203.0.113.9" })).toBe("200");
  });
});

describe("Origin allowlist", () => {
  it.each([
    ["https://app.example.com", "200"],
    ["https://app.example.com:443", "200"],
    ["https://a.tenant.test", "200"],
    ["https://tenant.test", "403 origin_not_allowed"],
    ["https://a.b.tenant.test", "403 origin_not_allowed"],
    ["https://evil-tenant.test", "403 origin_not_allowed"],
    ["null", "403 origin_not_allowed"],
  ])("for Origin %s answers %s", async (origin, expected) => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_origins: ["https://app.example.com", "https://*.tenant.test"] });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key, origin })).toBe(expected);
  });

  it("allows a server-to-server request without Origin", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_origins: ["https://app.example.com"] });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key })).toBe("200");
  });
});

describe("report mode", () => {
  it("lets IP and Origin violations through but still enforces scopes", async () => {
    const key = await createKey({
      org_id: org,
      scopes: ["content:read"],
      allowed_ips: ["10.0.0.0/8"],
      allowed_origins: ["https://app.example.com"],
      restrictions_mode: "report",
    });
    const headers = { "x-api-key": key.key, "cf-connecting-ip": "203.0.113.9", origin: "https://evil.test" };
    expect(await status("/api/v1/site/pages", headers)).toBe("200");
    expect(await status("/api/v1/products", headers)).toBe("403 insufficient_scope");
  });
});

describe("project binding", () => {
  it.each([
    ["query", "/api/v1/site/pages?productId=product_1", {}],
    ["param", "/api/v1/projects/product_1", {}],
    ["header", "/api/v1/templates", { "x-project-id": "product_1" }],
  ])("lets a bound key reach its own project named by %s", async (_, path, extra) => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "projects:read", "templates:read"], project_id: "product_1" });
    expect(await status(path, { "x-api-key": key.key, ...extra })).toBe("200");
  });

  it.each([
    ["query", "/api/v1/site/pages?productId=product_2", {}],
    ["param", "/api/v1/projects/product_2", {}],
    ["header", "/api/v1/templates", { "x-project-id": "product_2" }],
  ])("denies a bound key another project named by %s", async (_, path, extra) => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "projects:read", "templates:read"], project_id: "product_1" });
    expect(await status(path, { "x-api-key": key.key, ...extra })).toBe("403 project_mismatch");
  });

  it("denies a bound key on a route that names no project, but not on an origin-filtered route", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "stories:read"], project_id: "product_1" });
    expect(await status("/api/v1/site/pages", { "x-api-key": key.key })).toBe("403 project_mismatch");
    const res = await call("/api/v1/stories", { headers: { "x-api-key": key.key } });
    expect(res.status).toBe(200);
    expect((await json<{ headers: Record<string, string> }>(res)).headers["x-keygate-project-id"]).toBe("product_1");
  });

  it("lets an unbound key reach any project of its org and tells the origin which", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/site/pages?productId=product_2", { headers: { "x-api-key": key.key } });
    expect(res.status).toBe(200);
    expect((await json<{ headers: Record<string, string> }>(res)).headers["x-keygate-project-id"]).toBe("product_2");
    expect(await status("/api/v1/site/pages?productId=product_unknown", { "x-api-key": key.key })).toBe("403 project_mismatch");
  });

  it("recognizes a project at once in the Worker that created it, after a miss", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await status("/api/v1/site/pages?productId=product_late", { "x-api-key": key.key })).toBe("403 project_mismatch");
    await createProject(org, "product_late");
    expect(await status("/api/v1/site/pages?productId=product_late", { "x-api-key": key.key })).toBe("200");
  });

  it("lets a bound key through a public route, which names no project, telling the origin its project", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], project_id: "product_1" });
    const res = await call("/public/docs", { headers: { "x-api-key": key.key } });
    expect(res.status).toBe(200);
    expect((await json<{ headers: Record<string, string> }>(res)).headers["x-keygate-project-id"]).toBe("product_1");
  });

  it("checks the project before the scopes", async () => {
    const key = await createKey({ org_id: org, scopes: ["stories:read"], project_id: "product_1" });
    expect(await status("/api/v1/site/pages?productId=product_2", { "x-api-key": key.key })).toBe("403 project_mismatch");
  });
});
