/**
 * The `keygate/verify` package entry as an origin meets it (SPEC §6): `npm pack`, installed from
 * the tarball into a fresh project, imported by the machine's own Node (20 here, not the repo's
 * node 24) and verifying a request the gateway's own forwarding code signed.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Config } from "../../src/env";
import { forwardToOrigin } from "../../src/gateway/proxy";
import { type FreshProject, freshProject, NODE, run } from "./fresh-project";

const SECRET = "package-test-secret";

let project: FreshProject;
let app: string;

// The package has no dependencies, so the install needs no registry.
beforeAll(async () => {
  project = await freshProject("origin-app");
  app = project.dir;
}, 120_000);

afterAll(async () => {
  await project?.remove();
});

/** A request as the gateway's own code forwards it (echo mode shows exactly what it would send). */
async function forwardedByGateway(body: string) {
  const config = {
    originUrl: undefined,
    originService: undefined,
    echo: true,
    originSecrets: [SECRET],
    originDigestMaxBytes: 1024 * 1024,
    sessionCookieNames: [],
  } as unknown as Config;
  const identity = { caller: "api_key" as const, keyId: "key_1", orgId: "org_1", projectId: "prj_1", scopes: ["content:write"], requestId: "req_1" };
  const incoming = new Request("https://gw.test/api/v1/items?x=1", { method: "POST", body, headers: { "content-type": "application/json" } });
  const echo = (await (await forwardToOrigin(incoming, { path: "/api/v1/items", search: "?x=1" }, identity, config, new Set())).json()) as {
    path: string;
    query: string;
    headers: Record<string, string>;
  };
  return { url: `http://echo.invalid${echo.path}?${echo.query}`, headers: echo.headers, body };
}

/** Runs `script` (an ES module) in the fresh project with the machine's node; returns its stdout. */
async function inOriginApp(script: string, input: unknown): Promise<string> {
  const file = join(app, "check.mjs");
  await writeFile(file, script);
  const { stdout } = await run(NODE, [file, JSON.stringify(input)], { cwd: app, timeout: 20_000 });
  return stdout.trim();
}

const VERIFY_SCRIPT = `
import { verifyKeygateSignature, ContentDigestMismatchError } from "keygate/verify";
const { url, headers, body } = JSON.parse(process.argv[2]);
const result = await verifyKeygateSignature(new Request(url, { method: "POST", headers, body }), ${JSON.stringify(SECRET)});
let read;
try { read = result.ok ? await result.request.text() : null; } catch (error) { read = error instanceof ContentDigestMismatchError ? "mismatch" : String(error); }
console.log(JSON.stringify({ node: process.version, ok: result.ok, version: result.version, orgId: result.identity?.orgId, read }));
`;

// README's node:http adapter, as an origin app would copy it.
const NODE_HTTP_ORIGIN = `
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { verifyKeygateSignature } from "keygate/verify";

function toWebRequest(req) {
  const url = \`http://\${req.headers.host}\${req.url}\`;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, { method: req.method, headers: req.headers, body: hasBody ? Readable.toWeb(req) : undefined, duplex: "half" });
}

const server = createServer(async (req, res) => {
  const result = await verifyKeygateSignature(toWebRequest(req), ${JSON.stringify(SECRET)});
  const body = result.ok ? await result.request.text() : null;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ node: process.version, ok: result.ok, reason: result.reason, version: result.version, identity: result.identity, body }));
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

/** Starts the node:http origin with the machine's node; resolves its port. */
async function startNodeHttpOrigin(): Promise<{ port: number; stop: () => void }> {
  await writeFile(join(app, "server.mjs"), NODE_HTTP_ORIGIN);
  const child = spawn(NODE, [join(app, "server.mjs")], { cwd: app, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error("origin did not start")), 10_000);
    child.stdout.once("data", (chunk: Uint8Array) => {
      clearTimeout(timer);
      resolvePort(Number(new TextDecoder().decode(chunk).trim()));
    });
    child.once("exit", () => reject(new Error("origin exited")));
  });
  return { port, stop: () => child.kill() };
}

describe("the keygate/verify package", () => {
  it("verifies, in README's node:http adapter under the machine's Node, a request the gateway forwarded over HTTP", async () => {
    const origin = await startNodeHttpOrigin();
    try {
      const config = {
        originUrl: new URL(`http://127.0.0.1:${origin.port}/base`),
        originService: undefined,
        echo: false,
        originSecrets: [SECRET],
        originDigestMaxBytes: 1024 * 1024,
        originTimeoutMs: 10_000,
        sessionCookieNames: [],
      } as unknown as Config;
      const identity = { caller: "oauth" as const, userId: "usr_1", orgId: "org_1", scopes: ["stories:publish"], requestId: "req_9" };
      const incoming = new Request("https://gw.test/api/v1/stories/s1/publish", { method: "POST", body: "publish me" });
      const res = await forwardToOrigin(incoming, { path: "/api/v1/stories/s1/publish", search: "" }, identity, config, new Set());
      expect(await res.json()).toEqual({
        node: expect.stringMatching(/^v2\d\./),
        ok: true,
        version: "v2",
        identity: { caller: "oauth", userId: "usr_1", orgId: "org_1", scopes: ["stories:publish"], requestId: "req_9" },
        body: "publish me",
      });
    } finally {
      origin.stop();
    }
  });

  it("packs only the built entries, the CLI and the package metadata", () => {
    const { files } = inject("packed");
    expect(files).toEqual(expect.arrayContaining(["dist/verify.js", "dist/verify.d.ts", "package.json", "bin/keygate.mjs"]));
    expect(files.filter((path) => !/^(dist|bin)\//.test(path) && !/^(package\.json|README\.md|LICENSE)$/.test(path))).toEqual([]);
  });

  it("verifies, under the machine's Node (20 on these machines), a v2 signature made by the gateway, reading the checked body", async () => {
    const out = JSON.parse(await inOriginApp(VERIFY_SCRIPT, await forwardedByGateway('{"title":"hello"}')));
    expect(out).toEqual({ node: expect.stringMatching(/^v2\d\./), ok: true, version: "v2", orgId: "org_1", read: '{"title":"hello"}' });
  });

  it("makes the body error under the machine's Node when it is not the one the gateway signed", async () => {
    const forwarded = await forwardedByGateway('{"title":"hello"}');
    const out = JSON.parse(await inOriginApp(VERIFY_SCRIPT, { ...forwarded, body: '{"title":"HACKED"}' }));
    expect(out).toMatchObject({ ok: true, read: "mismatch" });
  });

  it("ships types, installs nothing else and exposes nothing but its entries", async () => {
    const script = `
      import { readdir, readFile } from "node:fs/promises";
      const pkg = JSON.parse(await readFile("node_modules/keygate/package.json", "utf8"));
      let deep = "importable";
      try { await import("keygate/src/origin/signature.ts"); } catch (error) { deep = error.code; }
      const installed = await readdir("node_modules");
      console.log(JSON.stringify({ exports: pkg.exports, sideEffects: pkg.sideEffects, dependencies: pkg.dependencies ?? {}, peers: pkg.peerDependenciesMeta, installed, deep }));
    `;
    const out = JSON.parse(await inOriginApp(script, null));
    expect(out).toEqual({
      exports: {
        "./verify": { types: "./dist/verify.d.ts", default: "./dist/verify.js" },
        "./hono": { types: "./dist/hono.d.ts", default: "./dist/hono.js" },
      },
      sideEffects: false,
      dependencies: {},
      // keygate/hono's peers are optional, so an origin installing the package for keygate/verify gets only keygate.
      peers: { hono: { optional: true }, zod: { optional: true } },
      installed: expect.not.arrayContaining(["hono", "zod"]),
      deep: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });
});
