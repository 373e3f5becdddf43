import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Four projects: `workers` (the Worker's suite, inside workerd), `cli` (bin/keygate.mjs, in
// Node: unit tests plus an integration test against a locally started Worker), `e2e` (Node:
// the Worker started locally and driven by what its users run: Chromium, OAuth and MCP clients),
// and `package` (Node: the packed entries installed into fresh projects).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
                  BETTER_AUTH_SECRET: "test-better-auth-secret-9f3c1a7e5b2d8f4a6c0e1b3d5f7a9c2e",
                  BETTER_AUTH_URL: "https://gw.test",
                  ECHO: "1",
                  // Tests sign users up freely; the invite and closed modes are tested with their own env.
                  SIGNUP: "open",
                },
                // A second D1 for the audit tables' own-database mode (AUDIT_DB, test/consumer/audit-db.test.ts).
                d1Databases: { AUDIT_DB_SPLIT: "keygate-audit-split" },
                // An origin Worker behind a service binding; tests pass it as ORIGIN_SERVICE.
                serviceBindings: { TEST_ORIGIN_SERVICE: "origin-worker" },
                workers: [{ name: "origin-worker", modules: true, scriptPath: "./test/fixtures/origin-worker.mjs", compatibilityDate: "2026-11-01" }],
                // Deliver audit batches at once, so end-to-end tests see rows without waiting 5 s.
                queueConsumers: {
                  "keygate-audit": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5, deadLetterQueue: "keygate-audit-dlq" },
                },
              },
            }),
          ],
          test: {
            name: "workers",
            setupFiles: ["./test/helpers/apply-migrations.ts"],
            include: ["test/**/*.test.ts"],
            exclude: ["test/cli/**", "test/e2e/**", "test/package/**", "**/node_modules/**"],
          },
        },
        {
          test: {
            name: "cli",
            environment: "node",
            include: ["test/cli/**/*.test.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
          },
        },
        {
          test: {
            name: "e2e",
            environment: "node",
            include: ["test/e2e/**/*.test.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
          },
        },
        {
          // The published entries (`keygate/verify`, `keygate/hono`), packed once and installed
          // into fresh projects the way an origin or another team's Worker would.
          test: {
            name: "package",
            environment: "node",
            include: ["test/package/**/*.test.ts"],
            globalSetup: ["./test/package/global-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
