/**
 * @module
 * Resource indicators (RFC 8707). A client names the resource it wants a token for (an MCP
 * route's URL, as its RFC 9728 metadata gives it); the token is bound to it, keeps it through every
 * refresh, and is refused at any other resource.
 *
 * The gateway's contract: {@link ActiveToken.resource} (src/caller/active-token.ts) is the normalized URL
 * the token was minted for, or `null`; {@link isTokenForResource} is the one comparison. MCP routes
 * accept a token only when it is for the route's own URL; a token without resource (the device
 * flow's) is refused there.
 */

/**
 * The stored form of a resource indicator: the URL's `href` (so `https://gw.example.com` and
 * `https://GW.example.com/` are one resource), `null` when it is not an absolute URL without a
 * fragment (RFC 8707 §2).
 */
export function normalizeResource(raw: string): string | null {
  if (!URL.canParse(raw) || raw.includes("#")) return null;
  const url = new URL(raw);
  return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
}

/**
 * Whether a token (or anything carrying its `resource`) was minted for `resourceUrl`.
 * @example isTokenForResource(token, "https://gw.example.com/mcp") // false for device-flow tokens
 */
export function isTokenForResource(token: { resource: string | null }, resourceUrl: string): boolean {
  return token.resource !== null && token.resource === normalizeResource(resourceUrl);
}
