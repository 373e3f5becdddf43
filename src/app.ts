/**
 * @module
 * The Worker's HTTP surface: Keygate's own endpoints under `/_keygate` (health, the admin API,
 * better-auth for dashboards, the OAuth device flow for CLIs, the ops console), MCP routes' RFC 9728
 * metadata, then the gateway.
 */
import { Hono } from "hono";
import { admin } from "./admin";
import { docs } from "./admin/docs";
import { notFound } from "./admin/actor";
import { health } from "./admin/health";
import { AUTH_BASE_PATH } from "./auth/auth";
import { authRoutes } from "./auth/routes";
import { createConsole } from "./console";
import { handleError } from "./errors";
import { authorizationServerMetadataRoutes } from "./oauth/metadata";
import { oauthRoutes } from "./oauth/routes";
import { gateway } from "./gateway";
import { protectedResourceRoutes } from "./gateway/mcp/discovery";
import { PROTECTED_RESOURCE_PREFIX } from "./policy/mcp-resource";
import type { KeygateEnv } from "./http/context";
import { assignRequestId } from "./http/request-id";

export const app = new Hono<KeygateEnv>();

app.use(assignRequestId());
app.route("/_keygate/health", health);
app.route("/_keygate/v1", admin);
app.route("/_keygate/docs", docs);
app.route(AUTH_BASE_PATH, authRoutes);
app.route("/_keygate/oauth", oauthRoutes);
// The console calls the admin API through the Worker itself, so it has no other way to data.
app.route("/_keygate/console", createConsole((request, env, ctx) => app.fetch(request, env, ctx)));
// RFC 8414 metadata lives outside /_keygate (its well-known URLs are fixed), ahead of the gateway.
app.route("/", authorizationServerMetadataRoutes);
app.all("/_keygate/*", () => {
  throw notFound();
});
app.route(PROTECTED_RESOURCE_PREFIX, protectedResourceRoutes);
app.route("/", gateway);
app.onError(handleError);
