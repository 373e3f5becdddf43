/**
 * A real OAuth client against the Worker started locally: oauth4webapi (strict about RFC 8414
 * discovery, token response headers and types, userinfo `sub`, `iss` in authorization responses)
 * drives discovery, the device grant, refresh rotation, revocation, userinfo, and the
 * authorization-code flow with PKCE for a dynamically registered client and for a client ID
 * metadata document served on loopback. Consent is given by the signed-in session over HTTP (the
 * browser test clicks it).
 */
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { hiddenFields, serveLoopback, signUpWithOrg, type E2eUser, type LoopbackServer } from "../helpers/oauth-e2e";

const insecure = { [oauth.allowInsecureRequests]: true } as const;

const worker = await startLocalWorker({ bindings: { SIGNUP: "open" } });
const issuer = new URL(`${worker.url}/_keygate/oauth`);
const resource = `${worker.url}/mcp`;
let user: E2eUser;
let as: oauth.AuthorizationServer;
let callback: LoopbackServer;
let metadataDocument: LoopbackServer;

beforeAll(async () => {
  user = await signUpWithOrg(worker.url, "Olive Oauth");
  callback = await serveLoopback(() => ({ body: "<!doctype html><title>callback</title>" }));
  metadataDocument = await serveLoopback((path, origin) => ({
    // Registered without a port: a loopback redirect URI matches any port (RFC 8252 §7.3).
    body: { client_id: `${origin}${path}`, client_name: "Document Client", redirect_uris: ["http://127.0.0.1/cb"], token_endpoint_auth_method: "none" },
  }));
});

afterAll(async () => {
  await worker.dispose();
  await callback?.close();
  await metadataDocument?.close();
});

describe("oauth4webapi against Keygate", () => {
  it("discovers the issuer at its path-inserted RFC 8414 URL, and at the root", async () => {
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
    expect(as).toMatchObject({ issuer: issuer.href, code_challenge_methods_supported: ["S256"], token_endpoint_auth_methods_supported: ["none"] });
    const root = await fetch(`${worker.url}/.well-known/oauth-authorization-server`);
    expect(await oauth.processDiscoveryResponse(issuer, root)).toEqual(as);
  });

  it("runs the device grant, rotates the refresh token, reads userinfo and revokes", async () => {
    const client: oauth.Client = { client_id: "keygate-cli" };
    const auth = oauth.None();
    const started = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, auth, new URLSearchParams({ scope: "content:read", org_id: user.orgId }), insecure),
    );
    const poll = () => oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, insecure);
    await expect(oauth.processDeviceCodeResponse(as, client, await poll())).rejects.toMatchObject({ error: "authorization_pending" });

    const decision = await fetch(`${worker.url}/_keygate/oauth/device`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: user.cookie, origin: worker.url },
      body: JSON.stringify({ user_code: started.user_code, action: "approve" }),
    });
    expect(decision.status).toBe(200);
    const tokens = await oauth.processDeviceCodeResponse(as, client, await poll());
    expect(tokens).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "content:read" });

    const info = await oauth.processUserInfoResponse(as, client, user.userId, await oauth.userInfoRequest(as, client, tokens.access_token, insecure));
    expect(info).toMatchObject({ sub: user.userId, email: user.email });

    const rotated = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, insecure));
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    // The used refresh token comes back: reuse detection revokes the family.
    await expect(
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, insecure)),
    ).rejects.toMatchObject({ error: "invalid_grant" });

    const fresh = await deviceTokens(client);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, fresh.access_token, insecure));
    await expect(oauth.processUserInfoResponse(as, client, user.userId, await oauth.userInfoRequest(as, client, fresh.access_token, insecure))).rejects.toBeDefined();
    // Another client cannot revoke this one's tokens.
    const other = await oauth.revocationRequest(as, { client_id: "someone-else" }, auth, fresh.refresh_token!, insecure);
    await expect(oauth.processRevocationResponse(other)).rejects.toMatchObject({ error: "unauthorized_client" });
  });

  it("registers a client (RFC 7591) and runs the authorization-code flow with PKCE, bound to a resource", async () => {
    const client = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { client_name: "oauth4webapi", redirect_uris: [`${callback.origin}/cb`], token_endpoint_auth_method: "none" }, insecure),
    );
    expect(client.client_id).toMatch(/^kgc_/);
    const tokens = await authorizationCodeFlow(client, `${callback.origin}/cb`);
    expect(tokens).toMatchObject({ token_type: "bearer", scope: "content:read", org_id: user.orgId });
    const info = await oauth.processUserInfoResponse(as, client, user.userId, await oauth.userInfoRequest(as, client, tokens.access_token, insecure));
    expect(info.sub).toBe(user.userId);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...insecure, additionalParameters: { resource } }),
    );
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, { ...insecure, additionalParameters: { resource: `${worker.url}/other-mcp` } }),
      ),
    ).rejects.toMatchObject({ error: "invalid_target" });
  });

  it("accepts a client ID metadata document served on loopback, redirecting to a loopback port it did not name", async () => {
    const client: oauth.Client = { client_id: `${metadataDocument.origin}/client.json`, token_endpoint_auth_method: "none" };
    const tokens = await authorizationCodeFlow(client, `${callback.origin}/cb`);
    expect(tokens.scope).toBe("content:read");
    expect(metadataDocument.requests).toEqual(["/client.json"]);
  });
});

async function deviceTokens(client: oauth.Client): Promise<oauth.TokenEndpointResponse> {
  const auth = oauth.None();
  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, auth, new URLSearchParams({ scope: "content:read", org_id: user.orgId }), insecure),
  );
  await fetch(`${worker.url}/_keygate/oauth/device`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: user.cookie, origin: worker.url },
    body: JSON.stringify({ user_code: started.user_code, action: "approve" }),
  });
  return oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, insecure));
}

/** The front channel as the signed-in user's browser would run it (GET the consent page, post Approve), then the code exchange. */
async function authorizationCodeFlow(client: oauth.Client, redirectUri: string): Promise<oauth.TokenEndpointResponse> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  for (const [name, value] of Object.entries({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "content:read",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    resource,
  })) {
    url.searchParams.set(name, value);
  }
  const page = await fetch(url, { headers: { cookie: user.cookie } });
  expect(page.status).toBe(200);
  const consent = await fetch(url.origin + url.pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: user.cookie, origin: worker.url },
    body: new URLSearchParams({ ...hiddenFields(await page.text()), action: "approve", target: user.orgId }),
    redirect: "manual",
  });
  expect(consent.status).toBe(303);
  const params = oauth.validateAuthResponse(as, client, new URL(consent.headers.get("location")!), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, { ...insecure, additionalParameters: { resource } });
  return oauth.processAuthorizationCodeResponse(as, client, response);
}
