/**
 * @module
 * `/_keygate/auth/*`: better-auth's own HTTP API (sign-up, sign-in, sign-out, get-session,
 * organization/…), answered in better-auth's shapes. Dashboards on the policy's CORS origins may
 * call it from the browser with credentials.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { KeygateEnv } from "../gateway/context";
import { loadPolicy } from "../gateway/policy";
import { getAuth } from "./auth";

export const authRoutes = new Hono<KeygateEnv>();

authRoutes.use(
  cors({
    origin: (origin, c) => (loadPolicy(c.env).cors.origins.has(origin) ? origin : null),
    allowMethods: ["GET", "POST"],
    credentials: true,
  }),
);
authRoutes.on(["GET", "POST"], "*", (c) => getAuth(c.env).handler(c.req.raw));
