import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { KeygateError } from "../../src/errors";
import { compilePolicy, loadPolicy } from "../../src/policy/compile";
import { CATALOG, policyWith, routes } from "../helpers/policy";

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
