/**
 * SPEC §5 in a real browser: a page on a listed origin can call the gateway with an API key (the
 * preflight is answered at the edge) and can read its 401 and 403 bodies; a page on an unlisted
 * origin cannot read anything. Chromium decides what the page sees, not hand-set headers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, closePage, fetchInPage, launchBrowser } from "../helpers/browser.mjs";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { policyWithCorsOrigins, servePages } from "../helpers/pages.mjs";

const listed = await servePages();
const unlisted = await servePages();
const worker = await startLocalWorker({ bindings: { POLICY: policyWithCorsOrigins([listed.origin]) } });
let browser: any;
let apiKey: string;

beforeAll(async () => {
  browser = await launchBrowser();
  const headers = { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) =>
    (await fetch(`${worker.url}/_keygate/v1${path}`, { method: "POST", headers, body: JSON.stringify(body) })).json() as Promise<any>;
  const org = await post("/orgs", { name: "Browser org" });
  apiKey = (await post("/keys", { org_id: org.data.id, name: "browser", scopes: ["prompts:read"] })).data.key;
});

afterAll(async () => {
  await closeBrowser(browser);
  await worker.dispose();
  await listed.close();
  await unlisted.close();
});

/** Runs `fetch` inside a page of `origin` and returns what the page could read. */
async function fetchFromPage(origin: string, path: string, init: { method?: string; headers?: Record<string, string> }): Promise<{ status?: number; body?: string; error?: string }> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    return await fetchInPage(page, `${worker.url}${path}`, init);
  } finally {
    await closePage(page);
  }
}

describe("a browser page calling the gateway", () => {
  it("on a listed origin, gets an allowed response through the edge-answered preflight", async () => {
    const result = await fetchFromPage(listed.origin, "/api/v1/prompts", { headers: { "x-api-key": apiKey } });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body!)).toMatchObject({ echo: true, path: "/api/v1/prompts" });
  });

  it("on a listed origin, can read a 401 and a 403 body", async () => {
    const missing = await fetchFromPage(listed.origin, "/api/v1/prompts", {});
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body!)).toMatchObject({ code: "UNAUTHORIZED", message: "missing credentials" });
    const forbidden = await fetchFromPage(listed.origin, "/api/v1/prompts", { method: "POST", headers: { "x-api-key": apiKey } });
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body!)).toMatchObject({ code: "FORBIDDEN", message: "insufficient_scope" });
  });

  it("on an unlisted origin, can read nothing", async () => {
    const result = await fetchFromPage(unlisted.origin, "/api/v1/prompts", { headers: { "x-api-key": apiKey } });
    expect(result).toEqual({ error: expect.stringContaining("Failed to fetch") });
  });
});
