/**
 * A fresh project outside the repository that installs the packed `keygate` tarball the way a
 * user's project would, and the machine's own Node (20 here, not the repo's node 24) to run it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";

export const run = promisify(execFile);
/** vitest runs from the repository root. */
export const ROOT = process.cwd();

/** The machine's node: the first on PATH outside node_modules (npm scripts put node 24 first). */
function machineNode(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("no node on PATH outside node_modules");
}

export const NODE = machineNode();

export interface FreshProject {
  /** The project's directory. */
  dir: string;
  remove(): Promise<void>;
}

export interface FreshProjectOptions {
  /** A directory whose files are copied in first (the project's own sources and config). */
  template?: string;
  /**
   * Packages installed beside the tarball, at the versions this repository locks (peer
   * dependencies such as hono): from npm's cache when it holds them, else the registry.
   */
  withPackages?: string[];
}

/** A new project with `keygate` installed from the packed tarball (see ./global-setup). */
export async function freshProject(name: string, options: FreshProjectOptions = {}): Promise<FreshProject> {
  const dir = await mkdtemp(join(tmpdir(), `keygate-${name}-`));
  if (options.template) await cp(options.template, dir, { recursive: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  const extra = await Promise.all((options.withPackages ?? []).map(async (pkg) => `${pkg}@${await lockedVersion(pkg)}`));
  const network = extra.length > 0 ? "--prefer-offline" : "--offline";
  await run("npm", ["install", inject("packed").tarball, ...extra, network, "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, timeout: 90_000 });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The version of `pkg` installed in this repository (read from disk: some packages export no package.json). */
async function lockedVersion(pkg: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}
