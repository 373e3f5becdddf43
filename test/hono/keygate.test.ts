/**
 * `keygate/hono` (src/hono) in a tiny app of someone else's, on this suite's real D1, KV and Queue:
 * what the checks promise an app and what an attacker calling that app can and cannot get.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { LinearRouter } from "hono/router/linear-router";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createKeygate, type KeygateBindings, type KeygateVariables } from "../../src/hono";
import { createOrgAs, signUp } from "../helpers/auth";
import { eventRow } from "../helpers/events";
import { authorizeDevice, bearer } from "../helpers/oauth";
import { createKey, createOrg, env } from "../helpers/worker";

// Catalog scopes that Keygate's own policy.json also lists, so its OAuth server can grant them.
const policy = {
  scopes: { "stories:read": "Read stories", "stories:write": "Write stories", "content:read": "Read content" },
  routes: [
    { method: "*", path: "/api/stories", project: "origin" },
    { method: "GET", path: "/api/public", public: true },
  ],
};

type AppEnv = { Bindings: KeygateBindings; Variables: KeygateVariables };

let org: string;
beforeAll(async () => {
  org = await createOrg();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** An app with Keygate's checks in front of `/api/*`, counting the requests its handlers ran for. */
function appWith(setup: (app: Hono<AppEnv>, kg: ReturnType<typeof createKeygate<typeof policy>>) => void, bindings: object = env) {
  const kg = createKeygate({ policy });
  const app = new Hono<AppEnv>();
  const handled: string[] = [];
  app.use("/api/*", async (c, next) => {
    await next();
    if (c.res.headers.get("x-handled")) handled.push(c.req.path);
  });
  setup(app, kg);
  const request = async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await app.request(`https://my-api.test${path}`, init, bindings, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
  return { request, handled };
}


describe("createKeygate", () => {
  it("throws a TypeError naming the bad entry for a policy that does not validate", () => {
    const bad = { scopes: { "stories:read": "Read" }, routes: [{ method: "GET", path: "/x", scopes: ["stories:raed"] }] };
    expect(() => createKeygate({ policy: bad })).toThrow(TypeError);
    expect(() => createKeygate({ policy: bad })).toThrow(/routes\[0\]\.scopes\[0\].*stories:raed/);
  });

  it("refuses a policy with MCP routes, whose per-message checks only Keygate's gateway enforces", () => {
    const mcp = { scopes: { "tools:run": "Run" }, routes: [{ method: "POST", path: "/mcp", scopes: ["tools:run"], mcp: { tools: {} } }] };
    expect(() => createKeygate({ policy: mcp })).toThrow(/\/mcp has mcp checks/);
  });

  it("types requireScopes by the policy's catalog, so a scope outside it does not compile", () => {
    const { requireScopes } = createKeygate({ policy });
    requireScopes("stories:read", "stories:write");
    // @ts-expect-error "stories:reed" is not in the catalog
    requireScopes("stories:reed");
    // @ts-expect-error a wildcard is a grant, never a requirement
    requireScopes("stories:*");
  });
});

describe("keygate in front of an app's routes", () => {
  it("answers a path no policy route lists 404 no route before reading the credential: a handler nobody listed never runs", async () => {
    const { request, handled } = appWith((app, { keygate }) => {
      app.use("/api/*", keygate);
      app.get("/api/forgotten", (c) => c.json({ secret: true }, 200, { "x-handled": "1" }));
    });
    const { key } = await createKey({ org_id: org, scopes: ["stories:read", "stories:write"] });
    for (const headers of [{}, { "x-api-key": key }, { "x-api-key": "kg_live_garbage" }] as Record<string, string>[]) {
      const res = await request("/api/forgotten", { headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ ok: false, code: "NOT_FOUND", message: "no route" });
    }
    expect(handled).toEqual([]);
  });

  it("answers denials with the contract body even when the app's onError renders errors its own way", async () => {
    const { request } = appWith((app, { keygate, requireScopes }) => {
      app.onError((_err, c) => c.text("app error", 500));
      app.use("/api/*", keygate);
      app.get("/api/stories", requireScopes("stories:write"), (c) => c.text("ok"));
    });
    const missing = await request("/api/stories");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ ok: false, code: "UNAUTHORIZED", message: "missing credentials" });
    const { key } = await createKey({ org_id: org, scopes: ["stories:read"] });
    const scopeless = await request("/api/stories", { headers: { "x-api-key": key } });
    expect(scopeless.status).toBe(403);
    expect(await scopeless.json()).toMatchObject({ code: "FORBIDDEN", message: "insufficient_scope", details: { missingScopes: ["stories:write"] } });
  });

  it("fails closed when requireScopes is mounted on a route keygate does not cover: 500, and the handler never runs", async () => {
    const { request, handled } = appWith((app, { requireScopes }) => {
      app.get("/api/stories", requireScopes("stories:read"), (c) => c.json({ stories: [] }, 200, { "x-handled": "1" }));
    });
    const { key } = await createKey({ org_id: org, scopes: ["stories:read"] });
    const res = await request("/api/stories", { headers: { "x-api-key": key } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ ok: false, code: "INTERNAL", message: "requireScopes runs after keygate" });
    expect(handled).toEqual([]);
  });

  it("answers an anonymous caller 401 where a public route's handler requires a scope in code", async () => {
    const { request, handled } = appWith((app, { keygate, requireScopes }) => {
      app.use("/api/*", keygate);
      app.get("/api/public", requireScopes("stories:read"), (c) => c.text("ok", 200, { "x-handled": "1" }));
    });
    const res = await request("/api/public");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ ok: false, code: "UNAUTHORIZED", message: "missing credentials" });
    expect(handled).toEqual([]);
  });

  it("fails closed with 500 naming the binding when the Worker lacks one the checks read", async () => {
    const { KEY_CACHE: _, ...withoutCache } = env;
    const { request, handled } = appWith((app, { keygate }) => {
      app.use("/api/*", keygate);
      app.get("/api/public", (c) => c.text("ok", 200, { "x-handled": "1" }));
    }, withoutCache);
    const res = await request("/api/public");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ ok: false, code: "INTERNAL", message: "keygate: the Worker has no KEY_CACHE binding" });
    expect(handled).toEqual([]);
  });

  it("answers 503 auth backend unavailable with Retry-After when D1 is down and the key is not cached", async () => {
    const { request, handled } = appWith((app, { keygate }) => {
      app.use("/api/*", keygate);
      app.get("/api/stories", (c) => c.text("ok", 200, { "x-handled": "1" }));
    });
    const { key } = await createKey({ org_id: org, scopes: ["stories:read"] });
    vi.spyOn(env.DB, "withSession").mockImplementation(() => {
      throw new Error("D1_ERROR: network connection lost");
    });
    const res = await request("/api/stories", { headers: { "x-api-key": key } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({ ok: false, code: "UNAVAILABLE", message: "auth backend unavailable" });
    expect(handled).toEqual([]);
  });

  it("gives handlers the identity Keygate checked: client-sent x-keygate-* headers change nothing, and no raw key is in c.var", async () => {
    const { request } = appWith((app, { keygate }) => {
      app.use("/api/*", keygate);
      app.get("/api/stories", (c) => c.json({ identity: c.var.identity, vars: JSON.stringify(c.var) }));
    });
    const { id, key } = await createKey({ org_id: org, scopes: ["stories:read"] });
    const res = await request("/api/stories", {
      headers: { "x-api-key": key, "x-keygate-org-id": "org_EVIL", "x-keygate-caller": "admin", "x-keygate-scopes": "*" },
    });
    expect(res.status).toBe(200);
    const body = await res.json<{ identity: unknown; vars: string }>();
    expect(body.identity).toEqual({ caller: "api_key", keyId: id, orgId: org, scopes: ["stories:read"], requestId: res.headers.get("x-request-id") });
    expect(body.vars).not.toContain(key);
  });

  it("leaves one audit event per request: the app's own answer when allowed, the reason when denied", async () => {
    const { request } = appWith((app, { keygate, requireScopes }) => {
      app.use("/api/*", keygate);
      app.post("/api/stories", requireScopes("stories:write"), (c) => c.json({ created: true }, 201));
    });
    const { id, key } = await createKey({ org_id: org, scopes: ["stories:write"] });
    const allowed = await request("/api/stories", { method: "POST", headers: { "x-api-key": key } });
    expect(allowed.status).toBe(201);
    expect(await eventRow(allowed.headers.get("x-request-id"))).toMatchObject({ outcome: "allowed", status: 201, key_id: id, org_id: org, caller: "api_key" });

    const { key: reader } = await createKey({ org_id: org, scopes: ["stories:read"] });
    const denied = await request("/api/stories", { method: "POST", headers: { "x-api-key": reader } });
    expect(denied.status).toBe(403);
    const row = await eventRow(denied.headers.get("x-request-id"));
    expect(row).toMatchObject({ outcome: "denied", reason: "insufficient_scope", status: 403 });
    expect(JSON.parse(row.missing_scopes as string)).toEqual(["stories:write"]);
    expect(JSON.stringify(row)).not.toContain(reader);
  });

  it("accepts an OAuth access token from Keygate's OAuth server: the identity names its user, and a missing scope is 403 with an RFC 6750 challenge", async () => {
    const { request } = appWith((app, { keygate, requireScopes }) => {
      app.use("/api/*", keygate);
      app.get("/api/stories", requireScopes("content:read"), (c) => c.json(c.var.identity));
      app.post("/api/stories", requireScopes("stories:write"), (c) => c.text("created", 201));
    });
    const ann = await signUp("Ann");
    const annOrg = await createOrgAs(ann, "Ann's org");
    const token = await authorizeDevice(ann, annOrg, "content:read");
    const read = await request("/api/stories", { headers: bearer(token.access_token) });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ caller: "oauth", userId: ann.userId, orgId: annOrg, scopes: ["content:read"] });
    const write = await request("/api/stories", { method: "POST", headers: bearer(token.access_token) });
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="stories:write"');
  });

  it("refuses with 400 a trailing slash that would move the request to another policy route, which routers ignoring it (hono/quick's) serve as the guarded path", async () => {
    // README's catch-all after a stricter route; LinearRouter (hono/quick) serves /api/reports/ as /api/reports.
    const strict = { scopes: policy.scopes, routes: [{ method: "GET", path: "/api/reports", scopes: ["stories:write"] }, { method: "*", path: "/api/*", project: "origin" }] };
    const { keygate } = createKeygate({ policy: strict });
    const app = new Hono<AppEnv>({ router: new LinearRouter() });
    app.use("/api/*", keygate);
    app.get("/api/reports", (c) => c.text("every report"));
    const { key } = await createKey({ org_id: org, scopes: ["stories:read"] });
    const request = async (path: string) => {
      const ctx = createExecutionContext();
      const res = await app.request(`https://my-api.test${path}`, { headers: { "x-api-key": key } }, env, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await request("/api/reports")).status).toBe(403);
    const slashed = await request("/api/reports/");
    expect(slashed.status).toBe(400);
    expect(await slashed.json()).toMatchObject({ code: "BAD_REQUEST", details: { issues: [{ path: "path" }] } });
  });

  it("ignores session cookies (Keygate's dashboard sessions are not credentials here): no credential is a 401", async () => {
    const { request } = appWith((app, { keygate }) => {
      app.use("/api/*", keygate);
      app.get("/api/stories", (c) => c.text("ok"));
    });
    const res = await request("/api/stories", { headers: { cookie: "better-auth.session_token=forged.value" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ ok: false, code: "UNAUTHORIZED", message: "missing credentials" });
  });
});
