/**
 * The package entries (`npm run build`, README "Package entries"): each one bundled from its
 * module in src/ to dist/<entry>.js as ESM with a bundled dist/<entry>.d.ts. Code two entries
 * share goes to a chunk; peer dependencies (hono, zod) stay imports, so an app's own copy serves.
 */
import { defineConfig } from "tsup";

export default defineConfig({
  entry: { verify: "src/origin/index.ts", hono: "src/hono/index.ts" },
  format: "esm",
  platform: "neutral",
  target: "es2022",
  outDir: "dist",
  clean: true,
  dts: { compilerOptions: { composite: false } },
  tsconfig: "tsconfig.build.json",
  sourcemap: false,
  treeshake: true,
});
