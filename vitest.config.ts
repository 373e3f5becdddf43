import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
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
          },
          // Deliver audit batches at once, so end-to-end tests see rows without waiting 5 s.
          queueConsumers: {
            "keygate-audit": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5, deadLetterQueue: "keygate-audit-dlq" },
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/helpers/apply-migrations.ts"],
      include: ["test/**/*.test.ts"],
    },
  };
});
