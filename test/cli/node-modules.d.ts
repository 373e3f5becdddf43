// The CLI tests run in Node, but the repo typechecks against workers-types only (no @types/node).
// These shorthand declarations let `npm run typecheck` accept the Node built-ins and the CLI's
// plain-JavaScript modules that test/cli imports; they are typed `any`.
declare module "node:child_process";
declare module "node:fs";
declare module "node:fs/promises";
declare module "node:net";
declare module "node:os";
declare module "node:path";
declare module "node:stream";
declare module "node:url";
declare module "*.mjs";
