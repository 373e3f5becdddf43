/**
 * The `keygate/verify` package entry as an origin meets it (SPEC §6): `npm pack`, installed from
 * the tarball into a fresh project, imported by the machine's own Node (20 here, not the repo's
 * node 24) and verifying a request the gateway's own forwarding code signed.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/env";
import { forwardToOrigin } from "../../src/gateway/proxy";

const run = promisify(execFile);
// vitest runs from the repository root.
const ROOT = process.cwd();
const SECRET = "package-test-secret";

/** The machine's node: the first on PATH outside node_modules (npm scripts put node 24 first). */
function machineNode(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("no node on PATH outside node_modules");
}

const NODE = machineNode();

let dir: string;
let app: string;
let tarballFiles: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keygate-pack-"));
  await run("npm", ["run", "build", "--silent"], { cwd: ROOT, timeout: 60_000 });
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, timeout: 60_000 });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarballFiles = packed.files.map((file) => file.path);
  app = join(dir, "origin-app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "origin-app", private: true, type: "module" }));
  // The package has no dependencies, so the install needs no registry.
  await run("npm", ["install", join(dir, packed.filename), "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: app, timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
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

  it("packs only the built entry, the CLI and the package metadata", () => {
    expect(tarballFiles).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "dist/signature.js", "package.json", "bin/keygate.mjs"]));
    expect(tarballFiles.filter((path) => path.startsWith("src/") || path.startsWith("test/"))).toEqual([]);
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

  it("ships types and exposes nothing but its entry", async () => {
    const script = `
      import { readFile } from "node:fs/promises";
      const pkg = JSON.parse(await readFile("node_modules/keygate/package.json", "utf8"));
      let deep = "importable";
      try { await import("keygate/src/origin/signature.ts"); } catch (error) { deep = error.code; }
      console.log(JSON.stringify({ exports: pkg.exports, sideEffects: pkg.sideEffects, dependencies: pkg.dependencies ?? {}, deep }));
    `;
    const out = JSON.parse(await inOriginApp(script, null));
    expect(out).toEqual({
      exports: { "./verify": { types: "./dist/index.d.ts", import: "./dist/index.js", default: "./dist/index.js" } },
      sideEffects: false,
      dependencies: {},
      deep: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });
});
