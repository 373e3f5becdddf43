#!/usr/bin/env node
/**
 * Deploy check (`npm run check:policy`, run by `npm run deploy` before `wrangler deploy`):
 * validates the policy with the very compiler the Worker uses (`loadPolicy`/`compilePolicy` in
 * src/policy/compile.ts), so a policy that would answer every request with 500 POLICY_INVALID
 * never ships.
 *
 * Checks `POLICY` from the environment when it is set and non-empty (exactly as the Worker reads
 * its `POLICY` var), else the repository's policy.json. The TypeScript sources are bundled with
 * esbuild (installed with wrangler) into a temporary ESM file and imported here, because Node's
 * type stripping does not resolve the sources' extensionless and JSON imports.
 *
 * Prints `policy OK (<n> routes, <m> scopes, sha256:<hex>)` — the hash /_keygate/health reports
 * for the same policy — or the POLICY_INVALID message naming each bad entry, and exits 1.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

async function main() {
  const fromEnv = process.env.POLICY !== undefined && process.env.POLICY !== "";
  const source = fromEnv ? "the POLICY environment variable" : "policy.json";
  if (!fromEnv) {
    // The Worker imports policy.json at build time; say plainly when it is not JSON at all.
    try {
      JSON.parse(await readFile(join(root, "policy.json"), "utf8"));
    } catch (error) {
      console.error(`POLICY_INVALID (policy.json): policy.json is not valid JSON (${/** @type {Error} */ (error).message})`);
      return 1;
    }
  }
  const { loadPolicy } = await loadCompiler();

  let compiled;
  try {
    compiled = loadPolicy({ POLICY: process.env.POLICY });
  } catch (error) {
    const failure = /** @type {{ code?: string, message?: string } | null | undefined} */ (error);
    if (failure && failure.code === "POLICY_INVALID") {
      console.error(`POLICY_INVALID (${source}): ${failure.message}`);
      return 1;
    }
    throw error;
  }

  const hash = createHash("sha256").update(compiled.json).digest("hex");
  const scopes = Object.keys(compiled.catalog.scopes).length;
  console.log(`policy OK (${compiled.routes.length} routes, ${scopes} scopes, sha256:${hash}) from ${source}`);
  if (!fromEnv) await warnAboutConfiguredPolicy();
  return 0;
}

/** Bundles src/policy/compile.ts (with policy.json, hono and zod) and imports it. */
async function loadCompiler() {
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error("esbuild is not installed (it comes with wrangler): run `npm install` first");
  }
  const dir = await mkdtemp(join(tmpdir(), "keygate-check-policy-"));
  const outfile = join(dir, "policy.mjs");
  try {
    await esbuild.build({
      stdin: {
        contents: 'export { compilePolicy, loadPolicy } from "./src/policy/compile.ts";',
        resolveDir: root,
        sourcefile: "check-policy-entry.ts",
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outfile,
      logLevel: "silent",
      tsconfig: join(root, "tsconfig.json"),
    }).catch((error) => {
      const messages = error.errors ? esbuild.formatMessagesSync(error.errors, { kind: "error" }).join("") : String(error);
      throw new Error(`could not bundle src/policy/compile.ts:\n${messages}`);
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A `POLICY` var in wrangler.toml replaces policy.json in the deployed Worker; say so. */
async function warnAboutConfiguredPolicy() {
  const toml = await readFile(join(root, "wrangler.toml"), "utf8").catch(() => "");
  if (/^\s*POLICY\s*=/m.test(toml)) {
    console.warn(
      "warning: wrangler.toml sets a POLICY var, which replaces policy.json in the deployed Worker; " +
        "check it with POLICY='<its JSON>' npm run check:policy",
    );
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`check-policy failed: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  },
);
