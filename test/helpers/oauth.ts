/**
 * The OAuth device flow through the Worker, as a CLI and a browser would drive it.
 */
import { expect } from "vitest";
import { randomClientIp, type DashboardUser } from "./auth";
import { BASE, call, json } from "./worker";

export const CLIENT_ID = "keygate-cli";
export const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
  org_id: string;
  project_id: string | null;
}

/** A form-encoded POST (what RFC 6749 clients send), or JSON with `asJson`. */
export function oauthPost(path: string, params: Record<string, string>, asJson = false): Promise<Response> {
  const body = asJson ? JSON.stringify(params) : new URLSearchParams(params).toString();
  const type = asJson ? "application/json" : "application/x-www-form-urlencoded";
  return call(`/_keygate/oauth${path}`, { method: "POST", headers: { "content-type": type }, body });
}

export async function requestDeviceCode(params: { scope: string; org_id?: string; project_id?: string; client_id?: string }): Promise<DeviceCodeResponse> {
  const res = await oauthPost("/device/code", { client_id: CLIENT_ID, ...params });
  if (res.status !== 200) throw new Error(`device code: ${res.status} ${await res.text()}`);
  return json<DeviceCodeResponse>(res);
}

export function pollToken(deviceCode: string, clientId = CLIENT_ID): Promise<Response> {
  return oauthPost("/token", { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });
}

export function refresh(refreshToken: string): Promise<Response> {
  return oauthPost("/token", { grant_type: "refresh_token", refresh_token: refreshToken, client_id: CLIENT_ID });
}

/** The signed-in user's JSON decision, from a page of the Worker's own origin. */
export function decide(user: DashboardUser, userCode: string, action: "approve" | "deny", orgId?: string, origin: string | null = BASE): Promise<Response> {
  // A fresh client address per decision: the user-code attempt limit counts per address.
  const headers: Record<string, string> = { "content-type": "application/json", cookie: user.cookie, "cf-connecting-ip": randomClientIp() };
  if (origin !== null) headers.origin = origin;
  const body = JSON.stringify({ user_code: userCode, action, ...(orgId && { org_id: orgId }) });
  return call("/_keygate/oauth/device", { method: "POST", headers, body });
}

/** Asserts an RFC 6749 error response. */
export async function expectOAuthError(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(await json(res)).toMatchObject({ error, error_description: expect.any(String) });
}

/** The whole flow: a device code for `scope`, approved by `user` in `orgId`, exchanged for tokens. */
export async function authorizeDevice(user: DashboardUser, orgId: string, scope: string, projectId?: string): Promise<TokenResponse> {
  const device = await requestDeviceCode({ scope, org_id: orgId, ...(projectId && { project_id: projectId }) });
  const approved = await decide(user, device.user_code, "approve");
  if (approved.status !== 200) throw new Error(`approve: ${approved.status} ${await approved.text()}`);
  const res = await pollToken(device.device_code);
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return json<TokenResponse>(res);
}

/** `Authorization: Bearer <token>`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The form token of a Keygate page's form, as a browser would submit it. */
export function formTokenOf(page: string): string {
  const match = /name="form_token" value="([^"]+)"/.exec(page);
  if (!match) throw new Error("no form token on the page");
  return match[1]!;
}

/** The device page's consent form for `userCode` as `user` sees it, and its form token. */
export async function deviceConsentToken(user: DashboardUser, userCode: string): Promise<string> {
  const res = await call(`/_keygate/oauth/device?user_code=${encodeURIComponent(userCode)}`, { headers: { cookie: user.cookie, "cf-connecting-ip": randomClientIp() } });
  return formTokenOf(await res.text());
}

/** A loopback redirect URI (RFC 8252 §7.3), as native and MCP clients register them. */
export const LOOPBACK_REDIRECT = "http://127.0.0.1:8765/callback";

/** Registers a public client (RFC 7591) and returns its client_id. */
export async function registerClient(metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await call("/_keygate/oauth/register", {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": randomClientIp() },
    body: JSON.stringify({ client_name: "Test MCP Client", redirect_uris: [LOOPBACK_REDIRECT], ...metadata }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return (await json<{ client_id: string }>(res)).client_id;
}

/** A PKCE verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return { verifier, challenge };
}

export interface AuthorizationParams {
  client_id: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  response_type?: string;
  resource?: string;
}

/** `GET /_keygate/oauth/authorize` with `params` (response_type and S256 filled in), as `user`'s browser. */
export function authorizePage(params: AuthorizationParams, user?: DashboardUser): Promise<Response> {
  const query = new URLSearchParams({ response_type: "code", code_challenge_method: "S256", redirect_uri: LOOPBACK_REDIRECT, ...params } as Record<string, string>);
  return call(`/_keygate/oauth/authorize?${query}`, { headers: user ? { cookie: user.cookie } : {}, redirect: "manual" });
}

/** Posts the consent form as the page rendered it, with `action` and `target`, plus `overrides`. */
export async function submitConsent(
  user: DashboardUser,
  page: string,
  action: "approve" | "deny",
  target?: string,
  overrides: Record<string, string> = {},
): Promise<Response> {
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[match[1]!] = decodeHtml(match[2]!);
  Object.assign(fields, { action, ...(target && { target }), ...overrides });
  return call("/_keygate/oauth/authorize", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: user.cookie, origin: BASE },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

function decodeHtml(text: string): string {
  return text.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/** The whole front channel: consent approved by `user` for `target`; returns the code and the verifier. */
export async function authorizeCode(
  user: DashboardUser,
  params: Omit<AuthorizationParams, "code_challenge">,
  target: string,
): Promise<{ code: string; verifier: string; location: URL }> {
  const { verifier, challenge } = await pkcePair();
  const page = await authorizePage({ state: "st-1", ...params, code_challenge: challenge }, user);
  if (page.status !== 200) throw new Error(`authorize: ${page.status} ${await page.text()}`);
  const res = await submitConsent(user, await page.text(), "approve", target);
  if (res.status !== 303) throw new Error(`consent: ${res.status} ${await res.text()}`);
  const location = new URL(res.headers.get("location")!);
  return { code: location.searchParams.get("code")!, verifier, location };
}

/** The token request of the authorization-code grant. */
export function exchangeCode(params: { code: string; verifier: string; client_id: string; redirect_uri?: string; resource?: string }): Promise<Response> {
  const { code, verifier, client_id, redirect_uri = LOOPBACK_REDIRECT, resource } = params;
  return oauthPost("/token", { grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri, ...(resource && { resource }) });
}
