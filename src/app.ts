import { Hono } from "hono";
import type { Bindings } from "./env";
import { handleError } from "./errors";

export const app = new Hono<{ Bindings: Bindings }>();
app.get("/_keygate/health", (c) => c.json({ ok: true }));
app.onError(handleError);
