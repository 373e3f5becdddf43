/**
 * @module
 * An MCP route as an OAuth protected resource (RFC 9728, SPEC §10): its resource URL (the route's
 * URL, what tokens are bound to), the URL of its metadata (the well-known prefix inserted before
 * the route path) and the metadata document. Keygate's issuer is `<origin>/_keygate/oauth`.
 */
import type { CompiledRoute } from "./match";

export const PROTECTED_RESOURCE_PREFIX = "/.well-known/oauth-protected-resource";
export const OAUTH_ISSUER_PATH = "/_keygate/oauth";

/** Scopes never advertised for a resource: Keygate's admin scopes and OIDC's refresh request. */
const UNADVERTISED = (scope: string) => scope.startsWith("keygate:") || scope === "offline_access";

/** The resource URL of an MCP route: this Worker's origin and the route's literal path. */
export function resourceUrl(requestUrl: string, route: CompiledRoute): string {
  return new URL(route.path, requestUrl).href;
}

/** Where the route's RFC 9728 metadata is published. */
export function resourceMetadataUrl(requestUrl: string, route: CompiledRoute): string {
  return new URL(PROTECTED_RESOURCE_PREFIX + route.path, requestUrl).href;
}

/** Keygate's OAuth issuer for requests to this origin. */
export function issuerUrl(requestUrl: string): string {
  return new URL(OAUTH_ISSUER_PATH, requestUrl).href;
}

/** The scopes a client may need on the route: its own and every scope its `mcp` map names. */
export function supportedScopes(route: CompiledRoute): string[] {
  return [...new Set([...route.scopes, ...(route.mcp?.scopes ?? [])])].filter((scope) => !UNADVERTISED(scope));
}

/** The RFC 9728 protected resource metadata of an MCP route. */
export function protectedResourceMetadata(requestUrl: string, route: CompiledRoute) {
  return {
    resource: resourceUrl(requestUrl, route),
    authorization_servers: [issuerUrl(requestUrl)],
    scopes_supported: supportedScopes(route),
    bearer_methods_supported: ["header"],
  };
}
