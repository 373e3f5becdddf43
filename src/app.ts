/**
 * @module
 * The Worker's HTTP surface: Keygate's own endpoints under `/_keygate`, then the gateway.
 */
import { Hono } from "hono";
import { admin } from "./admin";
import { notFound } from "./admin/actor";
import { health } from "./admin/health";
import { handleError } from "./errors";
import { gateway } from "./gateway";
import type { KeygateEnv } from "./gateway/context";
import { assignRequestId } from "./request-id";

export const app = new Hono<KeygateEnv>();

app.use(assignRequestId());
app.route("/_keygate/health", health);
app.route("/_keygate/v1", admin);
app.all("/_keygate/*", () => {
  throw notFound();
});
app.route("/", gateway);
app.onError(handleError);
