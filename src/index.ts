/**
 * @module
 * The Worker: HTTP (gateway and admin API), the audit queue consumer and the retention cron.
 */
import { app } from "./app";
import { pruneAttempts } from "./auth/attempts";
import { consumeAuditBatch } from "./consumer/audit-consumer";
import { pruneAuditLog, pruneExpiredOAuth } from "./consumer/retention";
import type { Bindings } from "./env";

export { RateLimiter } from "./ratelimit/exact-limiter";

export default {
  fetch: app.fetch,
  queue: consumeAuditBatch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(pruneAuditLog(env));
    ctx.waitUntil(pruneExpiredOAuth(env));
    ctx.waitUntil(pruneAttempts(env.DB));
  },
} satisfies ExportedHandler<Bindings>;
