/**
 * @module
 * `/_keygate/auth/*`: better-auth's own HTTP API (sign-up, sign-in, sign-out, get-session,
 * organization/…), answered in better-auth's shapes, except its rate limiter's 429, which becomes
 * the contract's (`RATE_LIMITED`, `Retry-After`). Dashboards on the policy's CORS origins may call
 * it from the browser with credentials.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { tooManyAttempts } from "./attempts";
import { getAuth } from "./auth";

/** The violated policy a refused sign-in or sign-up names. */
const ATTEMPTS_POLICY = "auth-attempts";

export const authRoutes = new Hono<KeygateEnv>();

authRoutes.use(
  cors({
    origin: (origin, c) => (loadPolicy(c.env).cors.origins.has(origin) ? origin : null),
    allowMethods: ["GET", "POST"],
    credentials: true,
  }),
);
authRoutes.on(["GET", "POST"], "*", async (c) => {
  const res = await getAuth(c.env).handler(c.req.raw);
  if (res.status === 429) throw tooManyAttempts(Math.max(1, Number(res.headers.get("x-retry-after")) || 1), ATTEMPTS_POLICY);
  return res;
});
