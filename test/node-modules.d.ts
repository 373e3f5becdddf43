// The CLI and e2e tests run in Node, but the repo typechecks against workers-types only (no @types/node).
// These shorthand declarations let `npm run typecheck` accept the Node built-ins and the
// plain-JavaScript helpers (test/helpers/*.mjs) they import; they are typed `any`.
declare module "node:child_process";
declare module "node:fs";
declare module "node:http";
declare module "node:fs/promises";
declare module "node:net";
declare module "node:os";
declare module "node:path";
declare module "node:stream";
declare module "node:url";
declare module "*.mjs";
