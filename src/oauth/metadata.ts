/**
 * @module
 * RFC 8414 authorization server metadata for Keygate's issuer `<origin>/_keygate/oauth`, served at
 * the path-inserted `/.well-known/oauth-authorization-server/_keygate/oauth` and, for clients that
 * only try the root, at `/.well-known/oauth-authorization-server`. Public and CORS-readable by any
 * origin (browser-based MCP clients discover it too).
 *
 * `scopes_supported` lists the policy catalog's scopes (not its wildcards, which a client may still
 * request, and never Keygate's own `keygate:` admin scopes, which a client must ask for by name).
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import type { Catalog } from "../core/scopes";
import { issuerOf, OAUTH_ISSUER_PATH } from "./authorize";

export const METADATA_PATH = "/.well-known/oauth-authorization-server";

/** The metadata document of the Worker at `workerUrl`. */
function authorizationServerMetadata(workerUrl: URL, catalog: Catalog): Record<string, unknown> {
  const issuer = issuerOf(workerUrl);
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    device_authorization_endpoint: `${issuer}/device/code`,
    revocation_endpoint: `${issuer}/revoke`,
    userinfo_endpoint: `${issuer}/userinfo`,
    grant_types_supported: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    scopes_supported: Object.keys(catalog.scopes).sort(),
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
  };
}

/** Mounted at the root, outside `/_keygate`, ahead of the gateway (src/app.ts). */
export const authorizationServerMetadataRoutes = new Hono<KeygateEnv>();

// Only on its own paths: this app is mounted at the root, in front of the gateway's CORS.
for (const path of [METADATA_PATH, `${METADATA_PATH}/*`]) authorizationServerMetadataRoutes.use(path, cors({ origin: "*", allowMethods: ["GET"] }));
authorizationServerMetadataRoutes.get(`${METADATA_PATH}${OAUTH_ISSUER_PATH}`, metadataResponse);
authorizationServerMetadataRoutes.get(METADATA_PATH, metadataResponse);

function metadataResponse(c: Context<KeygateEnv>): Response {
  const body = authorizationServerMetadata(new URL(c.req.url), loadPolicy(c.env).catalog);
  return c.json(body, 200, { "cache-control": "public, max-age=300" });
}
