import fc from "fast-check";
import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { describe, expect, it } from "vitest";
import { KeygateError } from "../../src/errors";
import { compilePolicy, loadPolicy, locateProject, requestPathIssue } from "../../src/gateway/policy";

const CATALOG = {
  "content:read": "Read content",
  "content:write": "Write content",
  "stories:read": "Read stories",
  "stories:publish": "Publish stories",
};

/** Characters that URLs encode in different ways, and any other code point. */
const URL_CHAR = fc.oneof(
  fc.constantFrom("%", "/", "?", "#", "+", "&", "=", ":", ";", "@", "$", ",", " ", "~", "é"),
  fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
);

function policyWith(fields: Record<string, unknown>): Record<string, unknown> {
  return { scopes: CATALOG, routes: [{ method: "GET", path: "/a", scopes: ["content:read"] }], ...fields };
}

function routes(...list: Record<string, unknown>[]) {
  return compilePolicy(policyWith({ routes: list }));
}

function compileError(raw: unknown): KeygateError {
  try {
    compilePolicy(raw);
  } catch (error) {
    if (error instanceof KeygateError) return error;
    throw error;
  }
  throw new Error("the policy compiled");
}

describe("compilePolicy", () => {
  it("fills in the defaults of optional fields", () => {
    const policy = compilePolicy(policyWith({ routes: [{ method: "GET", path: "/a" }] }));
    expect(policy.routes[0]).toEqual({ index: 0, method: "GET", path: "/a", scopes: [], public: false, sessions: true, project: undefined, cost: 1 });
    expect(policy.cors).toEqual({ origins: new Set(), maxAge: 600 });
    expect(policy.catalog).toEqual({ scopes: CATALOG, wildcards: {}, presets: {} });
    expect(policy.oauthRateLimits).toEqual([]);
  });

  it("answers 500 POLICY_INVALID", () => {
    const error = compileError(policyWith({ routes: [] }));
    expect(error.code).toBe("POLICY_INVALID");
    expect(error.status).toBe(500);
    expect(error.message).toContain("routes:");
  });

  it("compiles sessions: false on a route, and rejects a sessions value that is not a boolean", () => {
    const policy = compilePolicy(policyWith({ routes: [{ method: "GET", path: "/a", sessions: false }] }));
    expect(policy.routes[0]!.sessions).toBe(false);
    const error = compileError(policyWith({ routes: [{ method: "GET", path: "/a", sessions: "no" }] }));
    expect(error.message).toContain("routes[0].sessions");
  });

  it("rejects an unknown field, naming where it is", () => {
    expect(compileError(policyWith({ scope: {} })).message).toContain('(root): Unrecognized key: "scope"');
    const inRoute = compileError(policyWith({ routes: [{ method: "GET", path: "/a", scope: ["content:read"] }] }));
    expect(inRoute.message).toContain('routes[0]: Unrecognized key: "scope"');
  });

  it("rejects a catalog key outside the scope grammar", () => {
    expect(compileError(policyWith({ scopes: { "content:*": "All" } })).message).toContain('scopes["content:*"]: must be 2 or 3 segments');
  });

  it("rejects a catalog scope without a description", () => {
    expect(compileError(policyWith({ scopes: { ...CATALOG, "logs:read": " " } })).message).toContain('scopes["logs:read"]: needs a description');
  });

  it("rejects a keygate: scope in the catalog", () => {
    expect(compileError(policyWith({ scopes: { ...CATALOG, "keygate:keys:read": "Keys" } })).message).toContain(
      'scopes["keygate:keys:read"]: the keygate: prefix is reserved',
    );
  });

  it("compiles route costs, presets with rate limits and the OAuth limits (SPEC §11)", () => {
    const burst = { name: "burst", limit: 10, window_s: 60, tier: "exact" };
    const policy = compilePolicy(
      policyWith({
        routes: [{ method: "POST", path: "/a", scopes: ["content:write"], cost: 5 }],
        presets: { plain: ["content:read"], metered: { scopes: ["content:read"], rate_limits: [burst], quota: { limit: 9, period: "month" } } },
        rate_limits: { oauth: [burst] },
      }),
    );
    expect(policy.routes[0]?.cost).toBe(5);
    expect(policy.catalog.presets).toEqual({ plain: ["content:read"], metered: ["content:read"] });
    expect(policy.presetLimits).toEqual({
      plain: { rate_limits: [], quota: null },
      metered: { rate_limits: [{ ...burst, cost: 1 }], quota: { limit: 9, period: "month" } },
    });
    expect(policy.oauthRateLimits).toEqual([{ ...burst, cost: 1 }]);
  });

  it("rejects a route cost below 1, a bad OAuth limit and a preset's scope outside the catalog", () => {
    expect(compileError(policyWith({ routes: [{ method: "GET", path: "/a", cost: 0 }] })).message).toContain("routes[0].cost:");
    const approximate30 = { name: "b", limit: 10, window_s: 30, tier: "approximate" };
    expect(compileError(policyWith({ rate_limits: { oauth: [approximate30] } })).message).toContain("rate_limits.oauth[0].window_s:");
    expect(compileError(policyWith({ presets: { p: { scopes: ["nope:read"] } } })).message).toContain('"nope:read" is not in the catalog');
  });

  it("rejects a route scope that is not in the catalog", () => {
    const error = compileError(policyWith({ routes: [{ method: "GET", path: "/a", scopes: ["content:wrte"] }] }));
    expect(error.message).toBe('routes[0].scopes[0]: "content:wrte" is not in the catalog');
  });

  it("rejects a wildcard or a keygate: scope as a route scope", () => {
    const wildcard = compileError(policyWith({ routes: [{ method: "GET", path: "/a", scopes: ["content:*"] }] }));
    expect(wildcard.message).toContain("routes[0].scopes[0]:");
    const keygate = compileError(policyWith({ routes: [{ method: "GET", path: "/a", scopes: ["content:read", "keygate:keys:read"] }] }));
    expect(keygate.message).toBe('routes[0].scopes[1]: "keygate:keys:read" is not in the catalog');
  });

  it("rejects a preset entry that is not in the catalog", () => {
    const error = compileError(policyWith({ presets: { "read-only": ["content:read", "content:list"] } }));
    expect(error.message).toBe('presets.read-only[1]: "content:list" is not in the catalog');
  });

  it("rejects a preset wildcard that covers no catalog scope, and accepts one that does", () => {
    const error = compileError(policyWith({ presets: { agent: ["stories:*", "media:*"] } }));
    expect(error.message).toBe('presets.agent[1]: "media:*" covers no catalog scope');
    expect(compilePolicy(policyWith({ presets: { agent: ["*", "stories:*"] } })).catalog.presets).toEqual({ agent: ["*", "stories:*"] });
  });

  it("rejects an empty preset", () => {
    expect(compileError(policyWith({ presets: { none: [] } })).message).toContain("presets.none:");
  });

  it("rejects a wildcard that covers no catalog scope", () => {
    const error = compileError(policyWith({ wildcards: { "stories:*": "All stories", "foo:*": "Nothing" } }));
    expect(error.message).toBe('wildcards["foo:*"]: covers no catalog scope');
  });

  it("rejects a public route with scopes or a project", () => {
    const scoped = compileError(policyWith({ routes: [{ method: "GET", path: "/p", public: true, scopes: ["content:read"] }] }));
    expect(scoped.message).toBe("routes[0].scopes: a public route requires no scopes");
    const project = compileError(policyWith({ routes: [{ method: "GET", path: "/p", public: true, project: "origin" }] }));
    expect(project.message).toBe("routes[0].project: a public route names no project");
  });

  it.each(["/_keygate", "/_keygate/*", "/_keygate/v1/keys", "/_keygate*"])("reserves %s for Keygate itself", (path) => {
    const error = compileError(policyWith({ routes: [{ method: "GET", path: "/a" }, { method: "*", path }] }));
    expect(error.message).toBe("routes[1].path: /_keygate/* is reserved");
  });

  it("rejects a {param} locator that is not a parameter of the path", () => {
    const error = compileError(
      policyWith({
        routes: [
          { method: "GET", path: "/a" },
          { method: "GET", path: "/projects/:projectId", scopes: ["content:read"], project: { param: "id" } },
        ],
      }),
    );
    expect(error.message).toBe('routes[1].project.param: "id" is not a parameter of the path');
  });

  it("accepts a {param} locator naming a regex or optional parameter", () => {
    expect(() => routes({ method: "GET", path: "/p/:id{[0-9]+}", project: { param: "id" } })).not.toThrow();
    expect(() => routes({ method: "GET", path: "/p/:id?", project: { param: "id" } })).not.toThrow();
  });

  it("rejects a route path that Hono cannot compile", () => {
    expect(compileError(policyWith({ routes: [{ method: "GET", path: "/p/:id{[}" }] })).message).toContain(
      "routes[0].path: is not a valid route pattern",
    );
  });

  it("rejects a malformed method, path, project or CORS origin", () => {
    const error = compileError(
      policyWith({
        cors: { origins: ["https://app.example.com:443"], max_age: 600 },
        routes: [{ method: "get", path: "a", project: "somewhere" }],
      }),
    );
    expect(error.message).toContain("cors.origins[0]: must be an exact origin");
    expect(error.message).toContain("routes[0].method:");
    expect(error.message).toContain("routes[0].path: must start with /");
    expect(error.message).toContain('routes[0].project: must be {"param": name}');
  });

  it("names every bad entry at once, also in details.issues", () => {
    const error = compileError(
      policyWith({ presets: { x: ["nope:read"] }, routes: [{ method: "GET", path: "/a", scopes: ["nope:write"] }] }),
    );
    expect(error.details?.issues).toEqual([
      { path: "presets.x[0]", message: '"nope:read" is not in the catalog' },
      { path: "routes[0].scopes[0]", message: '"nope:write" is not in the catalog' },
    ]);
    expect(error.message).toBe('presets.x[0]: "nope:read" is not in the catalog; routes[0].scopes[0]: "nope:write" is not in the catalog');
  });

  it("gives equal policies equal canonical JSON, whatever their key order", () => {
    const a = compilePolicy({ scopes: { "b:read": "B", "a:read": "A" }, routes: [{ path: "/x", method: "GET", scopes: ["a:read"] }] });
    const b = compilePolicy({ routes: [{ method: "GET", scopes: ["a:read"], path: "/x", public: false }], scopes: { "a:read": "A", "b:read": "B" } });
    expect(a.json).toBe(b.json);
    expect(JSON.parse(a.json)).toEqual(a.policy);
  });
});

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

describe("loadPolicy", () => {
  it("compiles the bundled policy.json once per isolate", () => {
    const policy = loadPolicy({});
    expect(loadPolicy({})).toBe(policy);
    expect(loadPolicy({ POLICY: "" })).toBe(policy);
  });

  it("compiles a POLICY var once and prefers it over policy.json", () => {
    const text = JSON.stringify(policyWith({}));
    const policy = loadPolicy({ POLICY: text });
    expect(policy.routes).toHaveLength(1);
    expect(loadPolicy({ POLICY: text })).toBe(policy);
  });

  it("throws POLICY_INVALID for a POLICY that is not JSON, on every call", () => {
    for (let i = 0; i < 2; i++) {
      expect(() => loadPolicy({ POLICY: "{ routes: [" })).toThrow(
        expect.objectContaining({ code: "POLICY_INVALID", message: "POLICY is not valid JSON" }),
      );
    }
  });

  it("throws the error naming the bad entry on every call", () => {
    const text = JSON.stringify(policyWith({ routes: [{ method: "GET", path: "/_keygate/x" }] }));
    for (let i = 0; i < 2; i++) {
      expect(() => loadPolicy({ POLICY: text })).toThrow(
        expect.objectContaining({ code: "POLICY_INVALID", message: "routes[0].path: /_keygate/* is reserved" }),
      );
    }
  });
});
