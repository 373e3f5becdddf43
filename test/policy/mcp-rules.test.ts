/**
 * SPEC §10's `mcp` map: validated and compiled with the policy, and the matcher that says which
 * scopes a tool, prompt or resource needs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/compile";
import { compileMcpRules } from "../../src/policy/mcp-rules";
import { compileGrants, missingScopes } from "../../src/core/scopes";
import type { McpPolicy } from "../../src/schemas/policy";

const CATALOG = { "stories:read": "Read", "stories:write": "Write", "media:read": "Media", "webhooks:read": "Hooks" };

function policyWith(route: Record<string, unknown>) {
  return { scopes: CATALOG, routes: [{ method: "*", path: "/mcp", ...route }] };
}

function rules(mcp: Partial<McpPolicy>) {
  return compileMcpRules({ tools: {}, prompts: {}, resources: {}, default: "deny", ...mcp });
}

function issuesOf(route: Record<string, unknown>): string {
  try {
    compilePolicy(policyWith(route));
  } catch (error) {
    return (error as Error).message;
  }
  return "";
}

describe("policy: a route's mcp map", () => {
  it("compiles tools, prompts, resources and a deny default", () => {
    const policy = compilePolicy(policyWith({ mcp: { tools: { list_stories: ["stories:read"] } } }));
    const mcp = policy.routes[0]!.mcp!;
    expect(mcp.requiredFor("tools", "list_stories")).toEqual(["stories:read"]);
    expect(mcp.requiredFor("tools", "other")).toBeUndefined();
    expect(mcp.requiredFor("prompts", "list_stories")).toBeUndefined();
  });

  it("names every scope outside the catalog, wherever it sits", () => {
    const message = issuesOf({
      mcp: { tools: { a: ["stories:read", "stories:wrte"] }, prompts: { p: ["x:y"] }, resources: { "s://*": ["z:z"] }, default: ["q:q"] },
    });
    expect(message).toBe(
      'routes[0].mcp.tools.a[1]: "stories:wrte" is not in the catalog; routes[0].mcp.prompts.p[0]: "x:y" is not in the catalog; ' +
        'routes[0].mcp.resources["s://*"][0]: "z:z" is not in the catalog; routes[0].mcp.default[0]: "q:q" is not in the catalog',
    );
  });

  it("refuses wildcards as required scopes: a map names catalog scopes only", () => {
    expect(issuesOf({ mcp: { tools: { a: ["stories:*"] } } })).toContain("routes[0].mcp.tools.a[0]");
  });

  it("refuses a path with :param or *, a public mcp route, unknown fields and a * inside a resource pattern", () => {
    expect(issuesOf({ path: "/mcp/:id", mcp: {} })).toContain("routes[0].path: an mcp route's path is literal");
    expect(issuesOf({ path: "/mcp/*", mcp: {} })).toContain("routes[0].path: an mcp route's path is literal");
    expect(issuesOf({ public: true, mcp: {} })).toContain("routes[0].public: an mcp route is not public");
    expect(issuesOf({ mcp: { tool: {} } })).toContain("routes[0].mcp");
    expect(issuesOf({ mcp: { resources: { "a*b": [] } } })).toContain('routes[0].mcp.resources["a*b"]: must be an exact URI or a prefix ending in *');
    expect(issuesOf({ mcp: { default: "allow" } })).toContain('routes[0].mcp.default: must be "deny" or a list of scopes');
  });

  it("accepts the repository's demo MCP route with the seed's scopes", async () => {
    const demo = (await import("../../policy.json")).default as { routes: { path: string; mcp?: unknown }[] };
    const policy = compilePolicy(demo);
    const route = policy.routes.find((r) => r.path === "/api/v1/mcp")!;
    expect(route.mcp?.requiredFor("tools", "publish_story")).toEqual(["stories:publish"]);
    expect(route.mcp?.requiredFor("tools", "create_webhook")).toEqual(["webhooks:write"]);
  });
});

describe("the mcp matcher", () => {
  it("prefers the exact name, then the longest resource prefix, then *, then the default", () => {
    const compiled = rules({
      tools: { "*": ["stories:read"], publish: ["stories:write"] },
      resources: { "*": ["webhooks:read"], "file:///*": ["media:read"], "file:///stories/*": ["stories:read"], "file:///stories/x": ["stories:write"] },
      default: ["webhooks:read"],
    });
    expect(compiled.requiredFor("tools", "publish")).toEqual(["stories:write"]);
    expect(compiled.requiredFor("tools", "anything")).toEqual(["stories:read"]);
    expect(compiled.requiredFor("resources", "file:///stories/x")).toEqual(["stories:write"]);
    expect(compiled.requiredFor("resources", "file:///stories/y")).toEqual(["stories:read"]);
    expect(compiled.requiredFor("resources", "file:///img.png")).toEqual(["media:read"]);
    expect(compiled.requiredFor("resources", "https://x")).toEqual(["webhooks:read"]);
    expect(compiled.requiredFor("prompts", "p")).toEqual(["webhooks:read"]);
  });

  it("treats * inside a tool or prompt name as a literal character", () => {
    const compiled = rules({ tools: { "get*": ["stories:read"] } });
    expect(compiled.requiredFor("tools", "get*")).toEqual(["stories:read"]);
    expect(compiled.requiredFor("tools", "get_story")).toBeUndefined();
  });

  it("lists every scope it names once, for scopes_supported", () => {
    const compiled = rules({ tools: { a: ["stories:read"], b: ["stories:read", "media:read"] }, resources: { "x://*": ["webhooks:read"] }, default: ["stories:write"] });
    expect(compiled.scopes).toEqual(["stories:read", "media:read", "webhooks:read", "stories:write"]);
  });

  it("lets §3 wildcard grants satisfy a tool's scopes, and never the wrong prefix", () => {
    const compiled = rules({ tools: { publish: ["stories:publish"] } });
    const required = compiled.requiredFor("tools", "publish")!;
    expect(missingScopes(compileGrants(["stories:*"]), required)).toEqual([]);
    expect(missingScopes(compileGrants(["*"]), required)).toEqual([]);
    expect(missingScopes(compileGrants(["storiesx:*", "stories:read"]), required)).toEqual(["stories:publish"]);
  });

  it("never matches a resource outside a prefix pattern (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (prefix, uri) => {
        const compiled = rules({ resources: { [`${prefix.replaceAll("*", "")}*`]: ["media:read"] } });
        const covered = uri.startsWith(prefix.replaceAll("*", ""));
        expect(compiled.requiredFor("resources", uri) !== undefined).toBe(covered);
      }),
    );
  });
});
