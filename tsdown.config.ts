import { defineConfig } from "tsdown";

// The package entries (package.json `exports`). `keygate/verify` is for origins: one ESM file and
// its types, no dependencies, no Node or Workers APIs.
export default defineConfig({
  entry: { verify: "src/origin/index.ts" },
  format: "esm",
  platform: "neutral",
  target: "es2022",
  dts: true,
  outDir: "dist",
  clean: true,
});
