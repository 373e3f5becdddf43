/**
 * @module
 * Peer for the bench: the smallest useful auth in front of the same origin. Hono's `bearerAuth`
 * with one fixed token (compared in constant time), then the same forward as Keygate makes
 * (same method, headers less the credential). No keys, no scopes, no storage: a floor for "auth".
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";

interface Env {
  ORIGIN_URL: string;
  BEARER_TOKEN: string;
}

const app = new Hono<{ Bindings: Env }>();
// Built once per isolate, like a token read from config at startup.
let auth: MiddlewareHandler | undefined;

app.get("/api/v1/stories", (c, next) => (auth ??= bearerAuth({ token: c.env.BEARER_TOKEN }))(c, next), async (c) => {
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.delete("host");
  return fetch(new URL(url.pathname + url.search, c.env.ORIGIN_URL), { method: c.req.method, headers, redirect: "manual" });
});

export default app;
