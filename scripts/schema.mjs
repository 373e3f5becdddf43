#!/usr/bin/env node
/**
 * schema.sql is the whole current schema in one file, for reading and for
 * `wrangler d1 execute --file`: the D1 migrations in order, concatenated. `npm run schema` writes it;
 * `npm run schema -- --check` (CI) fails when it is out of date with migrations/.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const migrations = join(root, "migrations");
const target = join(root, "schema.sql");

const files = (await readdir(migrations)).filter((name) => name.endsWith(".sql")).sort();
const schema = (await Promise.all(files.map((name) => readFile(join(migrations, name), "utf8")))).join("");

if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== schema) {
    console.error("schema.sql is out of date with migrations/: run npm run schema and commit it");
    process.exit(1);
  }
  console.log(`schema.sql matches ${files.length} migrations`);
} else {
  await writeFile(target, schema);
  console.log(`schema.sql written from ${files.length} migrations`);
}
