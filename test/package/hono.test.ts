/**
 * The `keygate/hono` package entry as another team's Worker meets it: the packed tarball (and its
 * peers, hono and zod) installed into a fresh project (./my-api), that project's Worker bundled by
 * wrangler and run in workerd next to Keygate's own Worker, on one D1 database (migrated from
 * migrations/), one KV key cache and one audit Queue. Keys come from Keygate's admin API, and the
 * audit events the app's requests leave are read back from it once Keygate's consumer stored them.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorker } from "../../bench/lib/build.mjs";
import { applyMigrations, readWranglerConfig } from "../../bench/lib/instances.mjs";
import { type FreshProject, freshProject, NODE, ROOT, run } from "./fresh-project";

const ADMIN_TOKEN = "package-test-admin-token-0123456789abcdef";
const APP = "https://my-api.test";
const KEYGATE = "https://keygate.test";

type Json = Record<string, any>;
interface Miniflare {
  ready: Promise<URL>;
  getWorker(name: string): Promise<{ fetch(url: string, init?: RequestInit): Promise<Response> }>;
  dispose(): Promise<void>;
}

let project: FreshProject;
let mf: Miniflare;
let myApi: Awaited<ReturnType<Miniflare["getWorker"]>>;
let keygateWorker: Awaited<ReturnType<Miniflare["getWorker"]>>;
let orgId: string;
let projectA: string;
let projectB: string;

beforeAll(async () => {
  project = await freshProject("my-api", {
    template: join(ROOT, "test/package/my-api"),
    withPackages: ["hono", "zod", "@cloudflare/workers-types"],
  });
  const [appScript, keygateScript] = await Promise.all([
    buildWorker({ root: project.dir, entry: "src/worker.ts", outdir: join(project.dir, "build") }),
    buildWorker({ root: ROOT, entry: "src/index.ts", outdir: join(project.dir, "keygate-build") }),
  ]);
  mf = await startWorkers(appScript, keygateScript);
  await applyMigrations(mf, "DB", join(ROOT, "migrations"), "keygate");
  keygateWorker = await mf.getWorker("keygate");
  myApi = await mf.getWorker("my-api");
  orgId = (await admin("POST", "/orgs", { name: "Acme" })).data.id;
  projectA = (await admin("POST", "/projects", { org_id: orgId, name: "A" })).data.id;
  projectB = (await admin("POST", "/projects", { org_id: orgId, name: "B" })).data.id;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await project?.remove();
});

/** Keygate's Worker as wrangler.toml configures it (admin API, audit consumer), and the app beside it on the same D1, KV and Queue. */
async function startWorkers(appScript: string, keygateScript: string): Promise<Miniflare> {
  const { Miniflare, convertV4MiniflareOptions, Log, LogLevel } = await import("miniflare");
  const config = readWranglerConfig(ROOT);
  const shared = { compatibilityDate: config.compatibilityDate, compatibilityFlags: config.compatibilityFlags, modules: true };
  const instance = new Miniflare({
    ...convertV4MiniflareOptions({
      cf: false,
      log: new Log(LogLevel.NONE),
      workers: [
        {
          ...shared,
          name: "keygate",
          scriptPath: keygateScript,
          modulesRoot: join(keygateScript, ".."),
          bindings: { ...config.vars, ADMIN_TOKEN },
          d1Databases: config.d1,
          kvNamespaces: config.kv,
          r2Buckets: config.r2,
          durableObjects: config.durableObjects,
          ratelimits: config.ratelimits,
          queueProducers: config.queueProducers,
          // Deliver audit batches at once, so the test reads stored events without waiting 5 s.
          queueConsumers: { "keygate-audit": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5 } },
        },
        {
          // The app's own wrangler.toml (./my-api) binds the same database, namespace and queue.
          ...shared,
          name: "my-api",
          scriptPath: appScript,
          modulesRoot: join(appScript, ".."),
          d1Databases: config.d1,
          kvNamespaces: config.kv,
          queueProducers: config.queueProducers,
        },
      ],
    }),
    enableDevRegistry: false,
  }) as unknown as Miniflare;
  await instance.ready;
  return instance;
}

async function admin(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await keygateWorker.fetch(`${KEYGATE}/_keygate/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

/** A key minted by Keygate's admin API; returns its id and the raw key. */
async function createKey(fields: Json): Promise<{ id: string; key: string }> {
  return (await admin("POST", "/keys", { org_id: orgId, name: "app key", ...fields })).data;
}

function callApp(path: string, init: RequestInit = {}): Promise<Response> {
  return myApi.fetch(`${APP}${path}`, init);
}

/** The audit event of a request, once Keygate's consumer has stored it (bounded wait). */
async function storedEvent(requestId: string): Promise<Json> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { data } = await admin("GET", `/audit?request_id=${encodeURIComponent(requestId)}`);
    if (data.length > 0) return data[0];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no audit event for ${requestId}`);
}

describe("keygate/hono in another team's Worker", () => {
  it("answers a request without credentials 401 with the contract body, and the app's handler never runs", async () => {
    const res = await callApp("/api/stories");
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(await res.json()).toEqual({ ok: false, code: "UNAUTHORIZED", message: "missing credentials" });
  });

  it("answers a key lacking the scope the route's requireScopes names 403 insufficient_scope", async () => {
    const { key } = await createKey({ scopes: ["projects:read"] });
    const res = await callApp("/api/stories", { headers: { "x-api-key": key } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      ok: false,
      code: "FORBIDDEN",
      message: "insufficient_scope",
      details: { requiredScopes: ["stories:read"], missingScopes: ["stories:read"] },
    });
  });

  it("runs the app's own handler for a key holding the scope, with the caller in c.var and no raw key", async () => {
    const { id, key } = await createKey({ scopes: ["stories:*"] });
    const res = await callApp("/api/stories", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id");
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ stories: [], identity: { caller: "api_key", keyId: id, orgId, scopes: ["stories:*"], requestId } });
    expect(body).not.toContain(key);
  });

  it("queues one audit event per request, which Keygate's own consumer stores", async () => {
    const { id, key } = await createKey({ scopes: ["stories:write"] });
    const res = await callApp("/api/stories", { method: "POST", headers: { "x-api-key": key, "user-agent": "package-test" } });
    expect(res.status).toBe(201);
    const event = await storedEvent(res.headers.get("x-request-id")!);
    expect(event).toMatchObject({
      org_id: orgId,
      key_id: id,
      key_prefix: key.slice(0, 12),
      caller: "api_key",
      outcome: "allowed",
      status: 201,
      method: "POST",
      path: "/api/stories",
      user_agent: "package-test",
    });
    expect(JSON.stringify(event)).not.toContain(key);
  });

  it("records a denial with its reason too", async () => {
    const res = await callApp("/api/stories", { headers: { "x-api-key": "kg_live_not-a-key" } });
    expect(res.status).toBe(401);
    expect(await storedEvent(res.headers.get("x-request-id")!)).toMatchObject({ outcome: "denied", reason: "invalid api key", status: 401 });
  });

  it("checks the project a policy route names against the key's binding: its own project passes, another is project_mismatch", async () => {
    const { key } = await createKey({ scopes: ["projects:read"], project_id: projectA });
    const own = await callApp(`/api/projects/${projectA}`, { headers: { "x-api-key": key } });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ project: projectA, identity: { projectId: projectA } });
    const other = await callApp(`/api/projects/${projectB}`, { headers: { "x-api-key": key } });
    expect(other.status).toBe(403);
    expect(await other.json()).toEqual({ ok: false, code: "FORBIDDEN", message: "project_mismatch" });
  });

  it("denies a key outside its IP allowlist (CF-Connecting-IP) and lets it in from a listed address", async () => {
    const { key } = await createKey({ scopes: ["stories:read"], allowed_ips: ["203.0.113.0/24"] });
    const outside = await callApp("/api/stories", { headers: { "x-api-key": key, "cf-connecting-ip": "198.51.100.7" } });
    expect(outside.status).toBe(403);
    expect(await outside.json()).toEqual({ ok: false, code: "FORBIDDEN", message: "ip_not_allowed" });
    const inside = await callApp("/api/stories", { headers: { "x-api-key": key, "cf-connecting-ip": "203.0.113.9" } });
    expect(inside.status).toBe(200);
  });

  it("answers a path the policy does not list 404 no route, even with a valid key: the unguarded handler never runs", async () => {
    const { key } = await createKey({ scopes: ["stories:*", "projects:read"] });
    const res = await callApp("/api/unlisted", { headers: { "x-api-key": key } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, code: "NOT_FOUND", message: "no route" });
  });

  it("serves a public policy route without a credential", async () => {
    const res = await callApp("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("type-checks the app against the packed declarations, where a scope outside the policy's catalog does not compile", async () => {
    // tsc fails on an unused @ts-expect-error, so this passes only if the typo is a type error.
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    await expect(run(NODE, [tsc, "-p", "tsconfig.json"], { cwd: project.dir, timeout: 60_000 })).resolves.toBeDefined();
  });

  it("ships entries that import nothing but hono and zod (the app's own copies) and inline neither better-auth nor the demo policy", async () => {
    const dist = join(project.dir, "node_modules/keygate/dist");
    const imported = new Set<string>();
    for (const file of (await readdir(dist)).filter((name: string) => name.endsWith(".js"))) {
      for (const [, specifier] of (await readFile(join(dist, file), "utf8")).matchAll(/^import [^;]*?from ['"]([^'"]+)['"]/gm)) imported.add(specifier!);
    }
    expect([...imported].filter((specifier) => !/^(hono(\/.*)?|zod|\.\/.*)$/.test(specifier))).toEqual([]);
    expect(imported).toContain("zod");
    // The build inlines what is not a peer: better-auth reached through an import would show as
    // about 1 MB here (the entry is about 80 KB without it).
    const { size } = await stat(join(dist, "hono.js"));
    expect(size).toBeLessThan(250_000);
  });
});
