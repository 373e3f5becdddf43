import fc from "fast-check";
import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { describe, expect, it } from "vitest";
import { locateProject, requestPathIssue } from "../../src/policy/match";
import { routes } from "../helpers/policy";

/** Characters that URLs encode in different ways, and any other code point. */
const URL_CHAR = fc.oneof(
  fc.constantFrom("%", "/", "?", "#", "+", "&", "=", ":", ";", "@", "$", ",", " ", "~", "é"),
  fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
);

describe("matchRoute", () => {
  it("takes the first matching route in policy order, not the most specific", () => {
    const wildFirst = routes({ method: "GET", path: "/a/*" }, { method: "GET", path: "/a/b" });
    expect(wildFirst.matchRoute("GET", "/a/b")?.route.index).toBe(0);
    const literalFirst = routes({ method: "GET", path: "/a/b" }, { method: "GET", path: "/a/*" });
    expect(literalFirst.matchRoute("GET", "/a/b")?.route.index).toBe(0);
    expect(literalFirst.matchRoute("GET", "/a/c")?.route.index).toBe(1);
  });

  it("skips earlier routes of another method", () => {
    const policy = routes({ method: "POST", path: "/a" }, { method: "GET", path: "/a" });
    expect(policy.matchRoute("GET", "/a")?.route.index).toBe(1);
    expect(policy.matchRoute("POST", "/a")?.route.index).toBe(0);
    expect(policy.matchRoute("PUT", "/a")).toBeUndefined();
  });

  it.each(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])("matches %s with a * route", (method) => {
    expect(routes({ method: "*", path: "/a" }).matchRoute(method, "/a")?.route.index).toBe(0);
  });

  it("lets HEAD follow GET, but not GET follow HEAD", () => {
    expect(routes({ method: "GET", path: "/a" }).matchRoute("HEAD", "/a")?.route.index).toBe(0);
    expect(routes({ method: "HEAD", path: "/a" }).matchRoute("GET", "/a")).toBeUndefined();
  });

  it("compares methods case-insensitively, so a lowercase method cannot skip its route", () => {
    const policy = routes({ method: "PATCH", path: "/a", scopes: ["content:write"] }, { method: "*", path: "/a" });
    expect(policy.matchRoute("patch", "/a")?.route.index).toBe(0);
  });

  it("answers undefined when no route matches", () => {
    const policy = routes({ method: "GET", path: "/a/:id" });
    expect(policy.matchRoute("GET", "/a")).toBeUndefined();
    expect(policy.matchRoute("GET", "/b/1")).toBeUndefined();
  });

  it("extracts path parameters", () => {
    const policy = routes({ method: "GET", path: "/p/:projectId/s/:id{[0-9]+}" }, { method: "GET", path: "/public/*" });
    expect(policy.matchRoute("GET", "/p/prj_1/s/42")?.params).toEqual({ projectId: "prj_1", id: "42" });
    expect(policy.matchRoute("GET", "/p/prj_1/s/abc")).toBeUndefined();
    expect(policy.matchRoute("GET", "/public/css/site.css")).toEqual({ route: policy.routes[1], params: {} });
  });

  it("matches a trailing * path at any depth, and its bare prefix, as Hono does", () => {
    const policy = routes({ method: "GET", path: "/public/*" });
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), { maxLength: 5 }), (segments) => {
        expect(policy.matchRoute("GET", ["/public", ...segments].join("/"))?.route.index).toBe(0);
        expect(policy.matchRoute("GET", ["/private", ...segments].join("/"))).toBeUndefined();
      }),
    );
  });

  it("matches a literal route only by its exact path", () => {
    const policy = routes({ method: "GET", path: "/api/v1/site/pages" });
    fc.assert(
      fc.property(fc.stringMatching(/^\/[A-Za-z0-9/._-]{0,30}$/), (path) => {
        expect(policy.matchRoute("GET", path) !== undefined).toBe(path === "/api/v1/site/pages");
      }),
    );
  });

  it("decodes parameters exactly as c.req.param() does", async () => {
    const policy = routes({ method: "GET", path: "/items/:id/detail" });
    const app = new Hono().get("/items/:id/detail", (c) => c.json({ param: c.req.param("id"), path: c.req.path }));
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 12, unit: URL_CHAR }), async (value) => {
        const url = `https://gw.test/items/${encodeURIComponent(value)}/detail`;
        const hono = await (await app.request(url)).json<{ param: string; path: string }>();
        expect(getPath(new Request(url))).toBe(hono.path);
        expect(policy.matchRoute("GET", hono.path)?.params).toEqual({ id: hono.param });
      }),
    );
  });
});

describe("allowedMethods", () => {
  it("lists the methods of every route whose path matches, HEAD with GET, all for *", () => {
    const policy = routes({ method: "GET", path: "/a/:id" }, { method: "DELETE", path: "/a/:id" }, { method: "*", path: "/b" });
    expect(policy.allowedMethods("/a/1")).toEqual(["GET", "HEAD", "DELETE"]);
    expect(policy.allowedMethods("/b")).toEqual(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    expect(policy.allowedMethods("/c")).toEqual([]);
  });
});

describe("requestPathIssue", () => {
  it.each([
    ["https://gw.test/a%2Fb", "encoded"],
    ["https://gw.test/a%2fb", "encoded"],
    ["https://gw.test/a%5Cb", "encoded"],
    ["https://gw.test/a%5cb", "encoded"],
    ["https://gw.test/a\\b", "backslash"],
    ["https://gw.test/a%00b", "encoded"],
    ["https://gw.test/a\0b", "NUL"],
    ["https://gw.test/a/../b", ". or .."],
    ["https://gw.test/a/..", ". or .."],
    ["https://gw.test/a/%2e%2e/b", ". or .."],
    ["https://gw.test/a/.%2E/b", ". or .."],
    ["https://gw.test/a/./b", ". or .."],
    ["https://gw.test/a/%2e/b", ". or .."],
    ["https://gw.test/public/..;/api/admin", "before a ;"],
    ["https://gw.test/public/..;jsessionid=x/api/admin", "before a ;"],
    ["https://gw.test/public/.;/api", "before a ;"],
    ["https://gw.test/public/%2e%2e;/api", "before a ;"],
    ["https://gw.test/public/%2E%2e;/api", "before a ;"],
    ["https://gw.test/public/..%3B/api", "before a ;"],
    ["https://gw.test/public/.%2e%3b/api", "before a ;"],
    ["https://gw.test/public/..;", "before a ;"],
    ["https://gw.test//a", "empty segment"],
    ["https://gw.test/a//b", "empty segment"],
  ])("finds %s ambiguous", (url, reason) => {
    expect(requestPathIssue(url)).toContain(reason);
  });

  it.each([
    "https://gw.test",
    "https://gw.test/",
    "https://gw.test/a/b/",
    "https://gw.test/a/.well-known/x",
    "https://gw.test/a/...",
    "https://gw.test/a/..b/c.d",
    "https://gw.test/a;v=1/b",
    "https://gw.test/a/...;x/b",
    "https://gw.test/a/..x;/b",
    "https://gw.test/a/b;..",
    "https://gw.test/a%20b/caf%C3%A9",
    "https://gw.test/a?next=%2F..%2F&x=\\",
    "https://gw.test/a#/../%2F",
    "http://127.0.0.1:8787/api/v1/site/pages?productId=p1",
  ])("accepts %s", (url) => {
    expect(requestPathIssue(url)).toBeUndefined();
  });

  it("refuses a . or .. segment before a ; however its characters are encoded", () => {
    const dot = fc.constantFrom(".", "%2e", "%2E");
    const semicolon = fc.constantFrom(";", "%3b", "%3B");
    const suffix = fc.stringMatching(/^[A-Za-z0-9=_-]{0,8}$/);
    fc.assert(
      fc.property(fc.array(dot, { minLength: 1, maxLength: 2 }), semicolon, suffix, (dots, sep, rest) => {
        expect(requestPathIssue(`https://gw.test/public/${dots.join("")}${sep}${rest}/admin`)).toContain("before a ;");
      }),
    );
  });

  it("accepts any path of percent-encoded ordinary segments", () => {
    const segment = fc
      .string({ minLength: 1, unit: "binary" })
      .filter((s) => !/[/\\\0]/.test(s) && !/^\.{1,2}(?:;|$)/.test(s));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        expect(requestPathIssue(`https://gw.test/${segments.map(encodeURIComponent).join("/")}`)).toBeUndefined();
      }),
    );
  });
});

describe("locateProject", () => {
  const url = (query = "") => new URL(`https://gw.test/a${query}`);
  const request = (headers: Record<string, string> = {}) => new Request("https://gw.test/a", { headers });

  it("reads a {param} from the matched path parameters", () => {
    expect(locateProject({ param: "id" }, request(), { id: "product_123" }, url())).toEqual({ ok: true, projectId: "product_123" });
  });

  it("reads a {query} from the query string", () => {
    expect(locateProject({ query: "productId" }, request(), {}, url("?productId=p-1&x=2"))).toEqual({ ok: true, projectId: "p-1" });
  });

  it("reads a {header} from the request", () => {
    expect(locateProject({ header: "x-project-id" }, request({ "X-Project-Id": "prj_1" }), {}, url())).toEqual({ ok: true, projectId: "prj_1" });
  });

  it("answers undefined when the request names no project", () => {
    expect(locateProject({ param: "id" }, request(), {}, url())).toEqual({ ok: true, projectId: undefined });
    expect(locateProject({ query: "productId" }, request(), {}, url("?other=1"))).toEqual({ ok: true, projectId: undefined });
    expect(locateProject({ header: "x-project-id" }, request(), {}, url())).toEqual({ ok: true, projectId: undefined });
  });

  it("finds two query values ambiguous, however the name is encoded", () => {
    expect(locateProject({ query: "productId" }, request(), {}, url("?productId=a&product%49d=b"))).toEqual({
      ok: false,
      issue: { path: "query.productId", message: "two project values" },
    });
  });

  it("finds a header holding two values ambiguous", () => {
    const headers = new Headers([["x-project-id", "a"], ["x-project-id", "b"]]);
    const twice = new Request("https://gw.test/a", { headers });
    expect(locateProject({ header: "x-project-id" }, twice, {}, url())).toEqual({
      ok: false,
      issue: { path: "header.x-project-id", message: "two project values" },
    });
  });

  it.each(["", "a b", "../p", "x".repeat(65), "prj_1;drop"])("rejects the project id %j", (id) => {
    const located = locateProject({ query: "productId" }, request(), {}, url(`?productId=${encodeURIComponent(id)}`));
    expect(located).toMatchObject({ ok: false, issue: { path: "query.productId" } });
  });
});
