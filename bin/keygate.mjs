#!/usr/bin/env node
// keygate: the Keygate CLI. Plain ESM for Node >= 18, no dependencies; see README "CLI".
import { run } from "./lib/cli.mjs";

process.exitCode = await run(process.argv.slice(2));
