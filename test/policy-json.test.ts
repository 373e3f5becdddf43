import { describe, expect, it } from "vitest";
import policyJson from "../policy.json";
import { compilePolicy } from "../src/policy/compile";

const STORIES_PLATFORM = [
  "projects:read",
  "projects:write",
  "templates:read",
  "templates:write",
  "connections:read",
  "connections:write",
  "moments:read",
  "moments:write",
  "stories:read",
  "stories:write",
  "stories:publish",
  "media:read",
  "media:write",
  "webhooks:read",
  "webhooks:write",
];

const REAL_PROMPTER_WILDCARDS = ["project", "prompt", "chat", "subset", "diagram"].map((part) => `real-prompter:${part}:*`);

describe("policy.json", () => {
  const policy = compilePolicy(policyJson);

  it("compiles", () => {
    expect(policy.routes.length).toBeGreaterThan(0);
  });

  it("requires every catalog scope on some route", () => {
    const required = new Set(policy.routes.flatMap((route) => route.scopes));
    expect(Object.keys(policy.catalog.scopes).filter((scope) => !required.has(scope))).toEqual([]);
  });

  it("has exactly the seed presets", () => {
    expect(Object.keys(policy.catalog.presets).sort()).toEqual(["ai-agent", "publish-only", "read-only", "webhooks-only"]);
    expect([...(policy.catalog.presets["ai-agent"] ?? [])].sort()).toEqual([...STORIES_PLATFORM].sort());
    expect([...(policy.catalog.presets["read-only"] ?? [])].sort()).toEqual(STORIES_PLATFORM.filter((s) => s.endsWith(":read")).sort());
    expect(policy.catalog.presets["publish-only"]).toEqual(["stories:read", "stories:publish", "media:read"]);
    expect(policy.catalog.presets["webhooks-only"]).toEqual(["webhooks:read", "webhooks:write"]);
  });

  it("describes the real-prompter wildcards", () => {
    expect(Object.keys(policy.catalog.wildcards)).toEqual(expect.arrayContaining(["real-prompter:*", ...REAL_PROMPTER_WILDCARDS]));
  });

  it("contains the example routes of SPEC §5 verbatim", () => {
    expect(policyJson.routes).toEqual(
      expect.arrayContaining([
        { method: "GET", path: "/api/v1/site/pages", scopes: ["content:read"], project: { query: "productId" } },
        { method: "POST", path: "/api/v1/stories/:id/publish", scopes: ["stories:publish"] },
        { method: "GET", path: "/api/v1/projects/:id", scopes: ["projects:read"], project: { param: "id" } },
        { method: "GET", path: "/api/v1/stories", scopes: ["stories:read"], project: "origin" },
        { method: "GET", path: "/public/*", public: true },
      ]),
    );
  });

  it("allows the demo dashboard origins", () => {
    expect(policy.cors).toEqual({ origins: new Set(["http://localhost:5173", "https://app.example.com"]), maxAge: 600 });
  });

  it("routes the examples of SPEC §5", () => {
    expect(policy.matchRoute("GET", "/api/v1/projects/product_123")?.params).toEqual({ id: "product_123" });
    expect(policy.matchRoute("POST", "/api/v1/stories/s1/publish")?.route.scopes).toEqual(["stories:publish"]);
    expect(policy.matchRoute("GET", "/public/logo.svg")?.route.public).toBe(true);
  });
});
