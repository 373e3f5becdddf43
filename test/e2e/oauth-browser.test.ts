/**
 * Keygate's OAuth pages in a real browser (Chromium via playwright-core): what Chromium sends with
 * a form (its real `Origin`, `Sec-Fetch-Site`) and what the pages' CSP lets it do are decided by the
 * browser, not by hand-set headers. A user signs in on the device page, approves one device code
 * and denies another by clicking, then approves an authorization-code request whose answer must
 * reach the client's loopback redirect URI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, closePage, launchBrowser } from "../helpers/browser.mjs";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { PASSWORD, serveLoopback, signUpWithOrg, type E2eUser, type LoopbackServer } from "../helpers/oauth-e2e";

const worker = await startLocalWorker({ bindings: { SIGNUP: "open" } });
let user: E2eUser;
let browser: any;
let context: any;
let callback: LoopbackServer;

beforeAll(async () => {
  user = await signUpWithOrg(worker.url, "Bea Browser");
  callback = await serveLoopback(() => ({ body: "<!doctype html><title>callback</title><p>back at the client</p>" }));
  browser = await launchBrowser();
  context = await browser.newContext();
});

afterAll(async () => {
  await closeBrowser(browser);
  await worker.dispose();
  await callback?.close();
});

function form(path: string, params: Record<string, string>): Promise<Response> {
  return fetch(`${worker.url}/_keygate/oauth${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params) });
}

async function deviceCode(): Promise<{ device_code: string; user_code: string; verification_uri_complete: string }> {
  const res = await form("/device/code", { client_id: "keygate-cli", scope: "content:read", org_id: user.orgId });
  return (await res.json()) as { device_code: string; user_code: string; verification_uri_complete: string };
}

async function poll(code: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await form("/token", { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: code, client_id: "keygate-cli" });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function withPage<T>(run: (page: any) => Promise<T>): Promise<T> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  try {
    return await run(page);
  } finally {
    await closePage(page);
  }
}

describe("the device verification page in Chromium", () => {
  it("signs in through its form, then approves by clicking Approve: the device gets its tokens", async () => {
    const device = await deviceCode();
    await withPage(async (page) => {
      await page.goto(device.verification_uri_complete);
      await page.fill('input[name="email"]', user.email);
      await page.fill('input[name="password"]', PASSWORD);
      await Promise.all([page.waitForURL(device.verification_uri_complete), page.click('button[type="submit"]')]);
      await page.waitForSelector('button[value="approve"]');
      expect(await page.textContent("body")).toContain("Read site pages, markdown content, and llms.txt files");
      const [response] = await Promise.all([page.waitForResponse((r: any) => r.request().method() === "POST"), page.click('button[value="approve"]')]);
      expect(response.status()).toBe(200);
      expect(await page.textContent("h1")).toBe("Device connected");
    });
    const tokens = await poll(device.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: "Bearer", scope: "content:read", org_id: user.orgId });
  });

  it("denies by clicking Deny: the device gets access_denied", async () => {
    const device = await deviceCode();
    await withPage(async (page) => {
      await page.goto(device.verification_uri_complete);
      await page.click('button[value="deny"]');
      await page.waitForSelector("h1:has-text('Request denied')");
    });
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: "access_denied" } });
  });
});

describe("the authorization-code consent page in Chromium", () => {
  it("approves, and the redirect with code, state and iss reaches the client's loopback redirect URI", async () => {
    const registered = await fetch(`${worker.url}/_keygate/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Browser MCP Client", redirect_uris: [`${callback.origin}/cb`] }),
    });
    const { client_id } = (await registered.json()) as { client_id: string };
    const verifier = "v".repeat(43);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const challenge = btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const authorize = new URL(`${worker.url}/_keygate/oauth/authorize`);
    const params = { response_type: "code", client_id, redirect_uri: `${callback.origin}/cb`, scope: "content:read", state: "browser-state", code_challenge: challenge, code_challenge_method: "S256", resource: `${worker.url}/mcp` };
    for (const [name, value] of Object.entries(params)) authorize.searchParams.set(name, value);

    const landed = await withPage(async (page) => {
      await page.goto(authorize.href);
      await page.waitForSelector('button[value="approve"]');
      expect(await page.textContent("body")).toContain("Browser MCP Client");
      await Promise.all([page.waitForURL(`${callback.origin}/cb?**`, { timeout: 10_000 }), page.click('button[value="approve"]')]);
      return new URL(page.url());
    });
    expect(landed.searchParams.get("state")).toBe("browser-state");
    expect(landed.searchParams.get("iss")).toBe(`${worker.url}/_keygate/oauth`);
    const code = landed.searchParams.get("code")!;
    expect(callback.requests.some((path) => path.includes(`code=${code}`))).toBe(true);

    const exchange = await form("/token", { grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri: `${callback.origin}/cb` });
    expect(exchange.status).toBe(200);
    expect(await exchange.json()).toMatchObject({ token_type: "Bearer", scope: "content:read", org_id: user.orgId });
  });
});
