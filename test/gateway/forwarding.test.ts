/**
 * SPEC §6 through the Worker: what the origin receives (shown by ECHO), and CORS (SPEC §5).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { verifyKeygateSignature } from "../../src/origin/signature";
import { call, createKey, createOrg, createProject, json, type Echo } from "../helpers/worker";


let org: string;
beforeAll(async () => {
  org = await createOrg();
  await createProject(org, "product_1");
});

describe("what the origin receives", () => {
  it("never sees client-sent x-keygate-* headers or the credentials, and gets the trusted identity", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read", "products:read"] });
    const res = await call("/api/v1/site/pages?productId=product_1&x=1", {
      headers: {
        "x-api-key": key.key,
        "x-keygate-org-id": "org_forged",
        "x-keygate-caller": "admin",
        "x-keygate-scopes": "*",
        cookie: "theme=dark; better-auth.session_token=abc.def",
        "x-request-id": "client-id",
      },
    });
    expect(res.status).toBe(200);
    const echo = await json<Echo>(res);
    expect(echo).toMatchObject({ echo: true, method: "GET", path: "/api/v1/site/pages", query: "productId=product_1&x=1" });
    const keygateHeaders = Object.fromEntries(Object.entries(echo.headers).filter(([name]) => name.startsWith("x-keygate-")));
    expect(keygateHeaders).toEqual({
      "x-keygate-caller": "api_key",
      "x-keygate-key-id": key.id,
      "x-keygate-org-id": org,
      "x-keygate-project-id": "product_1",
      "x-keygate-scopes": "content:read products:read",
      "x-keygate-request-id": res.headers.get("x-request-id"),
    });
    expect(echo.headers).not.toHaveProperty("x-api-key");
    expect(echo.headers).not.toHaveProperty("x-request-id");
    expect(echo.headers.cookie).toBe("theme=dark");
    expect(JSON.stringify(echo)).not.toContain(key.key);
  });

  it("strips method-override headers, so a GET allowed by a read scope cannot become a DELETE at the origin", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/site/pages?productId=product_1", {
      headers: { "x-api-key": key.key, "x-http-method-override": "DELETE", "x-http-method": "DELETE", "x-method-override": "DELETE" },
    });
    expect(res.status).toBe(200);
    const echo = await json<Echo>(res);
    expect(echo.method).toBe("GET");
    expect(Object.values(echo.headers)).not.toContain("DELETE");
  });

  it("forwards a public route without a credential and without identity", async () => {
    const res = await call("/public/docs/intro", { headers: { "x-keygate-caller": "api_key" } });
    expect(res.status).toBe(200);
    const echo = await json<Echo>(res);
    expect(echo.path).toBe("/public/docs/intro");
    expect(echo.headers["x-keygate-caller"]).toBeUndefined();
    expect(echo.headers["x-keygate-request-id"]).toBe(res.headers.get("x-request-id"));
  });

  it("still checks a credential sent to a public route", async () => {
    const res = await call("/public/docs/intro", { headers: { "x-api-key": "kg_live_garbage" } });
    expect(res.status).toBe(401);
  });

  it("signs the identity when ORIGIN_SECRET is set, verifiable by the exported helper", async () => {
    const { env } = await import("cloudflare:test");
    const { createExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src/index")).default;
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await worker.fetch(
      new Request("https://gw.test/api/v1/site/pages?productId=product_1", { headers: { "x-api-key": key.key } }),
      { ...env, ORIGIN_SECRET: "s3cret-origin-key" },
      createExecutionContext(),
    );
    const echo = await json<Echo>(res);
    const forwarded = new Request(`http://echo.invalid${echo.path}?${echo.query}`, { headers: echo.headers });
    const verified = await verifyKeygateSignature(forwarded, "s3cret-origin-key");
    expect(verified.ok).toBe(true);
    expect(await verifyKeygateSignature(forwarded, "another-secret")).toMatchObject({ ok: false });
  });
});

describe("what the origin receives: header twins", () => {
  const HEADER_POLICY = JSON.stringify({
    scopes: { "content:read": "Read content" },
    routes: [{ method: "GET", path: "/api/v1/items", scopes: ["content:read"], project: { header: "x-project-id" } }],
  });

  it("drops underscore twins of identity headers and of the project header, which CGI origins merge with the real ones", async () => {
    const { env, createExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src/index")).default;
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await worker.fetch(
      new Request("https://gw.test/api/v1/items", {
        headers: { "x-api-key": key.key, "x-project-id": "product_1", x_project_id: "product_victim", x_keygate_org_id: "org_victim", "X-Keygate_User-Id": "usr_victim" },
      }),
      { ...env, POLICY: HEADER_POLICY },
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    const { headers } = await json<Echo>(res);
    expect(headers["x-project-id"]).toBe("product_1");
    expect(headers["x-keygate-project-id"]).toBe("product_1");
    expect(headers["x-keygate-org-id"]).toBe(org);
    expect(Object.values(headers).filter((value) => value.includes("victim"))).toEqual([]);
  });
});

describe("CORS", () => {
  it("answers a preflight of a routed path at the edge for a listed origin", async () => {
    const res = await call("/api/v1/site/pages", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "GET", "access-control-request-headers": "x-api-key" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toContain("GET");
    expect(res.headers.get("access-control-allow-headers")).toBe("x-api-key");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("never allows an unlisted origin", async () => {
    const res = await call("/api/v1/site/pages", { method: "OPTIONS", headers: { origin: "https://evil.test", "access-control-request-method": "GET" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("puts CORS headers on errors to a listed origin, so browsers can read a 401", async () => {
    const res = await call("/api/v1/site/pages", { headers: { origin: "https://app.example.com" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("gives a request without Origin (not a CORS request) Vary: Origin and no CORS headers", async () => {
    for (const path of ["/public/x", "/api/v1/site/pages"]) {
      const res = await call(path);
      expect(res.headers.get("vary")).toBe("Origin");
      expect([...res.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("answers a preflight of an unrouted path with 404, readable by a listed origin", async () => {
    const res = await call("/nowhere", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "GET" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
  });
});
