/**
 * The layers of src/ (README "Layers"), checked by `npm run check:layers` in CI: each folder (or
 * root file) may import only the layers it lists, these lists must form no cycle, no file may reach
 * itself through its imports (type-only imports included), and src/core stays free of Hono,
 * bindings and every other package.
 */
"use strict";

/** Layer → the layers it may import. Bottom first; every name is a folder of src/ unless noted. */
const LAYERS = {
  core: [],
  origin: [],
  schemas: ["core"],
  errors: ["core"], // src/errors.ts
  env: ["core", "schemas"], // src/env.ts
  policy: ["core", "schemas", "errors"],
  caller: ["core", "schemas", "errors"],
  cache: ["core", "errors"],
  db: ["core", "schemas", "errors", "env"],
  http: ["core", "schemas", "errors", "env", "policy", "caller", "cache"],
  ratelimit: ["core", "schemas", "errors", "env", "cache"],
  credentials: ["core", "schemas", "errors", "env", "caller", "cache", "db"],
  audit: ["core", "schemas", "errors", "env", "caller", "db", "http"],
  auth: ["core", "schemas", "errors", "env", "policy", "cache", "db", "http", "credentials"],
  checks: ["core", "origin", "schemas", "errors", "env", "policy", "caller", "cache", "db", "http", "ratelimit", "credentials", "auth"],
  gateway: ["core", "origin", "schemas", "errors", "env", "policy", "caller", "http", "audit", "auth", "checks"],
  admin: ["core", "schemas", "errors", "env", "policy", "caller", "db", "http", "ratelimit", "credentials", "audit", "auth", "checks"],
  oauth: ["core", "schemas", "errors", "env", "policy", "caller", "cache", "db", "http", "credentials", "auth"],
  console: ["core", "schemas", "errors", "env", "policy", "http", "auth", "admin"],
  consumer: ["core", "schemas", "errors", "env", "db", "audit"],
  // The keygate/hono package entry: the checks for another team's Worker (no gateway, no better-auth).
  hono: ["core", "origin", "schemas", "errors", "env", "policy", "http", "audit", "checks"],
  entry: ["*"], // src/app.ts, src/index.ts
};

const ROOT_FILES = { errors: "errors", env: "env", app: "entry", index: "entry" };

/** The path pattern of a layer's modules. */
function layerPath(layer) {
  const files = Object.keys(ROOT_FILES).filter((file) => ROOT_FILES[file] === layer);
  return files.length > 0 ? `^src/(?:${files.join("|")})\\.ts$` : `^src/${layer}/`;
}

assertAcyclic(LAYERS);

/** Throws when a layer can reach itself through the lists above (a folder cycle by design). */
function assertAcyclic(layers) {
  const state = new Map();
  const visit = (layer, trail) => {
    if (state.get(layer) === "done") return;
    if (state.get(layer) === "open") throw new Error(`layer cycle: ${[...trail, layer].join(" -> ")}`);
    state.set(layer, "open");
    for (const below of layers[layer]) if (below !== "*") visit(below, [...trail, layer]);
    state.set(layer, "done");
  };
  for (const layer of Object.keys(layers)) visit(layer, []);
}

const layerRules = Object.entries(LAYERS)
  .filter(([, allowed]) => !allowed.includes("*"))
  .map(([layer, allowed]) => ({
    name: `layer-${layer}`,
    comment: `src layer "${layer}" may import only: ${allowed.join(", ") || "nothing in src"} (README "Layers")`,
    severity: "error",
    from: { path: layerPath(layer) },
    to: { path: "^src/", pathNot: [layerPath(layer), ...allowed.map(layerPath)] },
  }));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "no-circular",
      comment: "No module may reach itself through its imports, type-only imports included.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "core-is-pure",
      comment: "src/core imports no package but Hono's pure utilities (hono/utils/*): no Hono app, zod, bindings or I/O.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown", "core", "unknown", "undetermined"], pathNot: "^node_modules/hono/dist/(?:types/)?utils/" },
    },
    {
      name: "no-unresolvable",
      comment: "Every import in src resolves (a typo'd path would hide an edge from the other rules).",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
  ],
  options: {
    includeOnly: "^src/|^node_modules/|^cloudflare:",
    exclude: { path: "^src/worker-configuration\\.d\\.ts$" },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
