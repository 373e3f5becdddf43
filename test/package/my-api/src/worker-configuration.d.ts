// What `wrangler types` generates for ../wrangler.toml: the app's own Env, which keygate/hono's
// middleware accepts because it holds the bindings KeygateBindings names.
interface Env {
  DB: D1Database;
  KEY_CACHE: KVNamespace;
  AUDIT_QUEUE: Queue;
}
