/**
 * SPEC §10's OAuth 2.1 as an MCP client meets it: the official SDK's StreamableHTTPClientTransport
 * with an OAuthClientProvider finds Keygate through the 401's `resource_metadata` (RFC 9728), the
 * issuer's RFC 8414 metadata, registers itself (RFC 7591), sends the user to the consent page
 * (approved here by the signed-in session over HTTP, as the browser test does by clicking) and
 * exchanges the code with PKCE for a token bound to the MCP route (RFC 8707). With that token it
 * lists and calls tools through the gateway; the token is refused anywhere else.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { hiddenFields, signUpWithOrg, type E2eUser } from "../helpers/oauth-e2e";
import { startMcpOrigin } from "./mcp-origin.mjs";

const MCP_PATH = "/api/v1/mcp";
const REDIRECT = "http://127.0.0.1:9/callback";

let origin: { url: string; calls: string[]; close: () => Promise<void> };
let worker: { url: string; dispose: () => Promise<void> };
let user: E2eUser;

beforeAll(async () => {
  origin = await startMcpOrigin();
  worker = await startLocalWorker({ bindings: { ORIGIN_URL: origin.url, SIGNUP: "open" } });
  user = await signUpWithOrg(worker.url, "Mona Mcp");
});

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

/**
 * The SDK's provider interface, kept in memory; `redirectToAuthorization` plays the signed-in user
 * approving the consent page, and keeps the code the redirect carries.
 */
class ConsentingProvider implements OAuthClientProvider {
  client: Record<string, unknown> | undefined;
  saved: Record<string, unknown> | undefined;
  verifier = "";
  code: string | undefined;
  authorizationUrl: URL | undefined;
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata = {
    client_name: "MCP SDK e2e",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  clientInformation() {
    return this.client as never;
  }
  saveClientInformation(info: Record<string, unknown>) {
    this.client = info;
  }
  tokens() {
    return this.saved as never;
  }
  saveTokens(tokens: Record<string, unknown>) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    const page = await fetch(url, { headers: { cookie: user.cookie } });
    if (page.status !== 200) throw new Error(`consent page: ${page.status} ${await page.text()}`);
    const consent = await fetch(`${url.origin}${url.pathname}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: user.cookie, origin: worker.url },
      body: new URLSearchParams({ ...hiddenFields(await page.text()), action: "approve", target: user.orgId }),
      redirect: "manual",
    });
    const location = new URL(consent.headers.get("location") ?? "about:blank");
    this.code = location.searchParams.get("code") ?? undefined;
  }
}

async function connectWithOAuth(provider: ConsentingProvider): Promise<Client> {
  const url = new URL(`${worker.url}${MCP_PATH}`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  const client = new Client({ name: "keygate-oauth-e2e", version: "1.0.0" });
  // The first connect ends at the authorization redirect; the SDK then finishes with the code.
  await expect(client.connect(first)).rejects.toThrow(/unauthorized/i);
  expect(provider.code).toEqual(expect.any(String));
  await first.finishAuth(provider.code!);
  const authorized = new Client({ name: "keygate-oauth-e2e", version: "1.0.0" });
  await authorized.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return authorized;
}

describe("the MCP SDK's OAuth client through Keygate", () => {
  let provider: ConsentingProvider;
  let client: Client;

  beforeAll(async () => {
    provider = new ConsentingProvider();
    client = await connectWithOAuth(provider);
  });

  afterAll(() => client?.close());

  it("registered dynamically and asked for PKCE (S256) and the MCP route as its resource", () => {
    expect(provider.client?.client_id).toMatch(/^kgc_/);
    const asked = provider.authorizationUrl!;
    expect(asked.pathname).toBe("/_keygate/oauth/authorize");
    expect(asked.searchParams.get("code_challenge_method")).toBe("S256");
    expect(asked.searchParams.get("resource")).toBe(`${worker.url}${MCP_PATH}`);
    expect(provider.saved).toMatchObject({ token_type: expect.stringMatching(/^bearer$/i), access_token: expect.any(String) });
  });

  it("lists only the tools the policy maps, and runs an allowed one at the origin", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toContain("create_webhook");
    expect(names).not.toContain("secret_admin_tool");
    const before = origin.calls.length;
    expect((await client.callTool({ name: "create_webhook", arguments: {} })).content).toEqual([{ type: "text", text: "create_webhook ran" }]);
    await expect(client.callTool({ name: "secret_admin_tool", arguments: {} })).rejects.toMatchObject({ code: 403 });
    expect(origin.calls.slice(before)).toEqual(["create_webhook"]);
  });

  it("has a token that no other resource accepts", async () => {
    const token = String(provider.saved!.access_token);
    const elsewhere = await fetch(`${worker.url}/api/v1/stories`, { headers: { authorization: `Bearer ${token}` } });
    expect(elsewhere.status).toBe(401);
    expect(await elsewhere.json()).toMatchObject({ code: "UNAUTHORIZED", message: "invalid token" });
  });
});
