/**
 * RFC 8414 authorization server metadata, at the issuer's path-inserted URL and at the root.
 */
import { describe, expect, it } from "vitest";
import { BASE, call, json } from "../helpers/worker";

const ISSUER = `${BASE}/_keygate/oauth`;

describe("GET /.well-known/oauth-authorization-server", () => {
  it("answers the same document at the path-inserted URL of the issuer and at the root", async () => {
    const inserted = await call("/.well-known/oauth-authorization-server/_keygate/oauth");
    const root = await call("/.well-known/oauth-authorization-server");
    expect(inserted.status).toBe(200);
    expect(root.status).toBe(200);
    expect(inserted.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json(root)).toEqual(await json(inserted));
  });

  it("names the issuer, every endpoint, PKCE S256, public clients and client ID metadata documents", async () => {
    const metadata = await json(await call("/.well-known/oauth-authorization-server/_keygate/oauth"));
    expect(metadata).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      registration_endpoint: `${ISSUER}/register`,
      device_authorization_endpoint: `${ISSUER}/device/code`,
      revocation_endpoint: `${ISSUER}/revoke`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      grant_types_supported: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
  });

  it("lists the catalog's scopes, never keygate: scopes or wildcards", async () => {
    const { scopes_supported } = await json<{ scopes_supported: string[] }>(await call("/.well-known/oauth-authorization-server"));
    const catalog = await json<{ data: { scopes: Record<string, string> } }>(await call("/_keygate/v1/scopes"));
    expect(scopes_supported).toContain("content:read");
    expect(scopes_supported.some((scope) => scope.startsWith("keygate:") || scope.includes("*"))).toBe(false);
    expect(new Set(scopes_supported)).toEqual(new Set(Object.keys(catalog.data.scopes).filter((scope) => !scope.startsWith("keygate:"))));
  });

  it("is readable from any origin", async () => {
    const res = await call("/.well-known/oauth-authorization-server", { headers: { origin: "https://inspector.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("opens CORS on its own paths only, leaving the gateway's routes to the policy's cors", async () => {
    const preflight = await call("/api/v1/site/pages", { method: "OPTIONS", headers: { origin: "https://evil.test", "access-control-request-method": "GET" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const other = await call("/.well-known/oauth-protected-resource/mcp", { headers: { origin: "https://evil.test" } });
    expect(other.headers.get("access-control-allow-origin")).not.toBe("*");
  });

  it("answers on the Worker's own origin, not a fixed one", async () => {
    const { exports } = await import("cloudflare:workers");
    const res = await exports.default.fetch(new Request("https://other-host.test/.well-known/oauth-authorization-server"));
    expect(await json(res)).toMatchObject({ issuer: "https://other-host.test/_keygate/oauth" });
  });
});
