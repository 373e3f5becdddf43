/**
 * @module
 * `WWW-Authenticate` challenges. Every 401 carries one (RFC 7235); callers that sent
 * `Authorization: Bearer` get RFC 6750's error form, which OAuth clients act on (re-run consent on
 * `insufficient_scope`). On MCP routes every challenge also names the route's scopes and its
 * RFC 9728 metadata (`resource_metadata`), which is how MCP clients discover where to authorize.
 */
import type { Context } from "hono";
import { KeygateError } from "../errors";
import type { AnyChainEnv } from "./context";
import { resourceMetadataUrl } from "../policy/mcp-resource";

const REALM_CHALLENGE = 'Bearer realm="keygate"';

/** A 401 with `message` and the challenge that fits the caller. */
export function unauthorized<E extends AnyChainEnv>(c: Context<E>, message: string): KeygateError {
  const base = isBearerCaller(c) ? 'Bearer error="invalid_token"' : REALM_CHALLENGE;
  const route = c.get("route")?.route;
  const challenge = route?.mcp ? base + scopeParam(route.scopes) + metadataParam(c) : base;
  return new KeygateError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": challenge } });
}

/** RFC 6750 `WWW-Authenticate` for a caller whose deciding credential was a bearer token, else nothing. */
export function bearerChallenge<E extends AnyChainEnv>(c: Context<E>, error: string, scope?: readonly string[]): Record<string, string> {
  if (!isBearerCaller(c)) return {};
  return { "WWW-Authenticate": `Bearer error="${error}"${scope ? scopeParam(scope) : ""}${metadataParam(c)}` };
}

/**
 * The step-up challenge of an MCP message denial (SPEC §10): sent to every caller, API keys too,
 * since the scopes it names are what a new key or consent would need.
 */
export function mcpScopeChallenge<E extends AnyChainEnv>(c: Context<E>, missing: readonly string[]): Record<string, string> {
  return { "WWW-Authenticate": `Bearer error="insufficient_scope"${scopeParam(missing)}${metadataParam(c)}` };
}

function scopeParam(scope: readonly string[]): string {
  return scope.length > 0 ? `, scope="${scope.join(" ")}"` : "";
}

function metadataParam<E extends AnyChainEnv>(c: Context<E>): string {
  const route = c.get("route")?.route;
  return route?.mcp ? `, resource_metadata="${resourceMetadataUrl(c.req.url, route)}"` : "";
}

function isBearerCaller<E extends AnyChainEnv>(c: Context<E>): boolean {
  return c.req.header("x-api-key") === undefined && /^bearer(?:\s|$)/i.test(c.req.header("authorization") ?? "");
}
