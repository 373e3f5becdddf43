// Bundles a Worker entry with wrangler's own bundler (`wrangler deploy --dry-run --outdir`), so
// the bench runs the same JavaScript `wrangler deploy` would upload.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const WRANGLER_BIN = join(require.resolve("wrangler/package.json"), "..", "bin", "wrangler.js");

/** Returns the path of the bundled script. */
export async function buildWorker({ root, entry, outdir, timeoutMs = 120_000 }) {
  const args = [WRANGLER_BIN, "deploy", entry, "--dry-run", "--outdir", outdir, "--config", configFor(root, entry, outdir)];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  // wrangler names the bundle after the entry file: src/index.ts → index.js.
  const script = join(outdir, basename(entry).replace(/\.[cm]?[jt]sx?$/, ".js"));
  if (code !== 0 || !existsSync(script)) {
    throw new Error(`bundling ${entry} failed (exit ${code}):\n${output.slice(-4000)}`);
  }
  return script;
}

/**
 * wrangler.toml for Keygate's own entry. The bench's other Workers get a config with only its
 * compatibility settings: wrangler refuses to bundle an entry that does not export the Durable
 * Object classes wrangler.toml binds.
 */
function configFor(root, entry, outdir) {
  const main = join(root, "wrangler.toml");
  if (entry === "src/index.ts") return main;
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(main, "utf8"))?.[1];
  const flags = /^compatibility_flags\s*=\s*(\[[^\]]*\])/m.exec(readFileSync(main, "utf8"))?.[1] ?? "[]";
  const keepNames = /^keep_names\s*=\s*(true|false)/m.exec(readFileSync(main, "utf8"))?.[1];
  const config = join(outdir, "wrangler.toml");
  mkdirSync(outdir, { recursive: true });
  writeFileSync(config, `name = "bench-${basename(entry).replace(/\W/g, "-")}"\ncompatibility_date = "${date}"\ncompatibility_flags = ${flags}\n${keepNames ? `keep_names = ${keepNames}\n` : ""}`);
  return config;
}

/**
 * The "audit off" variant of a Keygate bundle, for the audit on/off comparison: the bundled
 * `auditRequests()` factory is made to return a middleware that only calls `next()`, so no event
 * is built or sent. Only the bundle copy is changed, never src/. Returns null when the bundle has
 * no such function (audit renamed or gone), and the comparison is then reported as not measured.
 */
export function patchAuditOff(script, outFile) {
  const source = readFileSync(script, "utf8");
  const pattern = /function auditRequests\(([^)]*)\)\s*\{/g;
  const matches = source.match(pattern);
  if (!matches || matches.length !== 1) return null;
  const patched = source.replace(pattern, (m) => `${m}\n  return async function auditOffForBench(c, next) { await next(); };`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, patched);
  return outFile;
}
