/**
 * Who may use the authorization-code flow: dynamic client registration (RFC 7591) and client ID
 * metadata documents (fetched with SSRF care, size and time limits, cached).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createOrgAs, type DashboardUser, randomClientIp, signUp } from "../helpers/auth";
import { authorizeCode, authorizePage, exchangeCode, LOOPBACK_REDIRECT, pkcePair } from "../helpers/oauth";
import { call, env, json } from "../helpers/worker";

let owner: DashboardUser;
let org: string;

beforeAll(async () => {
  owner = await signUp("Cid Client");
  org = await createOrgAs(owner, "Client Org");
});

afterEach(() => {
  vi.restoreAllMocks();
});

function register(body: unknown, type = "application/json", ip = randomClientIp()): Promise<Response> {
  return call("/_keygate/oauth/register", { method: "POST", headers: { "content-type": type, "cf-connecting-ip": ip }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

async function expectRegistrationError(res: Response, error: string): Promise<void> {
  expect(res.status).toBe(400);
  expect(await json(res)).toMatchObject({ error, error_description: expect.any(String) });
}

describe("POST /_keygate/oauth/register (RFC 7591)", () => {
  it("registers a public client: 201 with its kgc_ id, its metadata and token_endpoint_auth_method none", async () => {
    const res = await register({ client_name: "Claude", redirect_uris: [LOOPBACK_REDIRECT, "https://app.example.com/cb"], token_endpoint_auth_method: "none" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = await json(res);
    expect(body).toMatchObject({
      client_id: expect.stringMatching(/^kgc_[0-9A-Z]{26}$/),
      client_id_issued_at: expect.any(Number),
      client_name: "Claude",
      redirect_uris: [LOOPBACK_REDIRECT, "https://app.example.com/cb"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
    expect(body).not.toHaveProperty("client_secret");
  });

  it("refuses redirect URIs that are not https or loopback http, or carry a fragment or credentials", async () => {
    for (const uri of ["http://app.example.com/cb", "javascript:alert(1)", "https://app.example.com/cb#x", "https://user:pw@app.example.com/cb", "not a url", "x".repeat(2049)]) {
      await expectRegistrationError(await register({ redirect_uris: [uri] }), "invalid_redirect_uri");
    }
    await expectRegistrationError(await register({ redirect_uris: [] }), "invalid_redirect_uri");
    await expectRegistrationError(await register({ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) }), "invalid_redirect_uri");
  });

  it("registers at most 20 clients an hour per client address: the 21st is 429 and stores nothing", async () => {
    const ip = randomClientIp();
    const metadata = { client_name: "Flood", redirect_uris: [LOOPBACK_REDIRECT] };
    for (let i = 0; i < 20; i++) expect((await register(metadata, "application/json", ip)).status).toBe(201);
    const before = await env.DB.prepare("SELECT count(*) AS n FROM oauth_clients").first<{ n: number }>();
    const limited = await register(metadata, "application/json", ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await json(limited)).toMatchObject({ code: "RATE_LIMITED", details: { violated_policies: ["oauth-register"] } });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM oauth_clients").first<{ n: number }>()).toEqual(before);
    expect((await register(metadata)).status).toBe(201);
  });

  it("refuses confidential clients and grants it does not support", async () => {
    await expectRegistrationError(await register({ redirect_uris: [LOOPBACK_REDIRECT], token_endpoint_auth_method: "client_secret_basic" }), "invalid_client_metadata");
    await expectRegistrationError(await register({ redirect_uris: [LOOPBACK_REDIRECT], grant_types: ["client_credentials"] }), "invalid_client_metadata");
    await expectRegistrationError(await register({ redirect_uris: [LOOPBACK_REDIRECT], response_types: ["token"] }), "invalid_client_metadata");
    await expectRegistrationError(await register({ redirect_uris: [LOOPBACK_REDIRECT], client_name: "n".repeat(201) }), "invalid_client_metadata");
  });

  it("refuses a body that is not a JSON object, and one over 64 KB", async () => {
    await expectRegistrationError(await register("redirect_uris=http://127.0.0.1/cb", "application/x-www-form-urlencoded"), "invalid_client_metadata");
    await expectRegistrationError(await register("[1]"), "invalid_client_metadata");
    expect((await register({ redirect_uris: [LOOPBACK_REDIRECT], software_id: "x".repeat(70_000) })).status).toBe(413);
  });
});

describe("client ID metadata documents", () => {
  const DOCUMENT_URL = "https://mcp-client.example/oauth/client.json";

  function serveDocument(body: unknown, init: ResponseInit = {}) {
    const original = globalThis.fetch;
    return vi.spyOn(globalThis, "fetch").mockImplementation(async (input, options) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.startsWith("https://mcp-client.example/")) {
        return new Response(typeof body === "string" ? body : JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" }, ...init });
      }
      return original(input, options);
    });
  }

  async function consentPageFor(clientId: string): Promise<Response> {
    const { challenge } = await pkcePair();
    return authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge }, owner);
  }

  it("fetches the document once (no redirects followed), names the client from it, and completes the flow", async () => {
    const id = `${DOCUMENT_URL}?v=flow`;
    const fetchSpy = serveDocument({ client_id: id, client_name: "Doc Client", redirect_uris: [LOOPBACK_REDIRECT] });
    const page = await consentPageFor(id);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Doc Client");
    const { code, verifier } = await authorizeCode(owner, { client_id: id, scope: "content:read" }, org);
    expect((await exchangeCode({ code, verifier, client_id: id })).status).toBe(200);
    const calls = fetchSpy.mock.calls.filter(([input]) => String(input instanceof Request ? input.url : input).startsWith("https://mcp-client.example/"));
    expect(calls).toHaveLength(1);
    expect(calls[0]![1]).toMatchObject({ redirect: "manual" });
  });

  it("refuses a document whose client_id is not its own URL, that is too large, not JSON, or a redirect", async () => {
    const cases: [string, unknown, ResponseInit?][] = [
      [`${DOCUMENT_URL}?v=other-id`, { client_id: "https://mcp-client.example/other.json", redirect_uris: [LOOPBACK_REDIRECT] }],
      [`${DOCUMENT_URL}?v=large`, { client_id: `${DOCUMENT_URL}?v=large`, redirect_uris: [LOOPBACK_REDIRECT], padding: "x".repeat(6000) }],
      [`${DOCUMENT_URL}?v=html`, "<html></html>"],
      [`${DOCUMENT_URL}?v=redirect`, "", { status: 302, headers: { location: "http://169.254.169.254/" } }],
      [`${DOCUMENT_URL}?v=bad-redirect-uri`, { client_id: `${DOCUMENT_URL}?v=bad-redirect-uri`, redirect_uris: ["http://evil.example/cb"] }],
    ];
    for (const [id, body, init] of cases) {
      serveDocument(body, init);
      const res = await consentPageFor(id);
      expect(res.status, id).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      vi.restoreAllMocks();
    }
  });

  it("never fetches http, IP literal, credentialed, root-path, loopback or *.localhost client ids on a public gateway", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    for (const id of [
      "http://mcp-client.example/client.json",
      "https://10.0.0.1/client.json",
      "https://[fd00::1]/client.json",
      "https://user:pw@mcp-client.example/client.json",
      "https://mcp-client.example/",
      "http://127.0.0.1:9/client.json",
      "https://mcp-client.example/a/../client.json",
      "https://metadata.localhost/client.json",
      "https://localhost./client.json",
      "https://mcp-client.example./client.json",
    ]) {
      expect((await consentPageFor(id)).status, id).toBe(400);
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});
