// The package test runs in Node; the repo typechecks against workers-types only (no @types/node),
// so this Node built-in is declared `any` here (test/node-modules.d.ts declares the others).
declare module "node:util";
