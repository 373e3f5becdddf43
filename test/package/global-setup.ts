/**
 * Builds and packs the package once for every test file of the `package` project (two files
 * building `dist/` at once would race), the way a release would: `npm run build`, then `npm pack`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);

export interface PackedPackage {
  /** The tarball's absolute path. */
  tarball: string;
  /** The paths the tarball holds. */
  files: string[];
}

declare module "vitest" {
  export interface ProvidedContext {
    packed: PackedPackage;
  }
}

export default async function packOnce(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "keygate-pack-"));
  const root = project.config.root;
  await run("npm", ["run", "build", "--silent"], { cwd: root, timeout: 60_000 });
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: root, timeout: 60_000 });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  project.provide("packed", { tarball: join(dir, packed.filename), files: packed.files.map((file) => file.path) });
  return () => rm(dir, { recursive: true, force: true });
}
