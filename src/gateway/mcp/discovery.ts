/**
 * @module
 * `GET /.well-known/oauth-protected-resource<route path>`: RFC 9728 metadata of each MCP route,
 * where MCP clients learn which authorization server to use and which scopes exist. Public and
 * readable cross-origin (browser-based MCP clients fetch it); it holds nothing secret.
 */
import { Hono } from "hono";
import { KeygateError } from "../../errors";
import type { KeygateEnv } from "../../http/context";
import { loadPolicy } from "../../policy/compile";
import { PROTECTED_RESOURCE_PREFIX, protectedResourceMetadata } from "../../policy/mcp-resource";

export const protectedResourceRoutes = new Hono<KeygateEnv>();

protectedResourceRoutes.on(["GET", "HEAD"], "/*", (c) => {
  const path = c.req.path.slice(PROTECTED_RESOURCE_PREFIX.length);
  const route = loadPolicy(c.env).routes.find((candidate) => candidate.mcp && candidate.path === path);
  if (!route) throw new KeygateError("NOT_FOUND", "not found");
  return c.json(protectedResourceMetadata(c.req.url, route), 200, {
    "access-control-allow-origin": "*",
    "cache-control": "public, max-age=300",
  });
});
