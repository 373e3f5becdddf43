/**
 * Dashboard sessions in a real browser (SPEC §1, §5): a page on a listed origin signs in with
 * better-auth through `fetch(..., { credentials: "include" })`, calls the gateway with the cookie
 * Chromium itself stores and sends, reads the gateway's 401 and 403 bodies, and signs out with
 * effect at once; a page on an unlisted origin cannot make the session act (CSRF). Chromium
 * decides which cookies and Origin headers go out, not hand-set headers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, closePage, launchBrowser, fetchInPage as pageFetch } from "../helpers/browser.mjs";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { policyWithCorsOrigins, servePages } from "../helpers/pages.mjs";

const PASSWORD = "correct horse battery staple";

const listed = await servePages();
const unlisted = await servePages();
const worker = await startLocalWorker({ bindings: { POLICY: policyWithCorsOrigins([listed.origin]) } });
let browser: any;
let email: string;
let orgId: string;

/** better-auth from Node, with the Worker's own (trusted) Origin. */
async function authPost(path: string, body: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: worker.url };
  if (cookie) headers.cookie = cookie;
  return fetch(`${worker.url}/_keygate/auth${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

beforeAll(async () => {
  browser = await launchBrowser();
  email = `${crypto.randomUUID()}@example.com`;
  const signUp = await authPost("/sign-up/email", { name: "Dana", email, password: PASSWORD });
  expect(signUp.status).toBe(200);
  const cookie = signUp.headers.getSetCookie().map((line) => line.split(";", 1)[0]).join("; ");
  const org = await authPost("/organization/create", { name: "Dana's org", slug: `org-${crypto.randomUUID()}` }, cookie);
  orgId = ((await org.json()) as { id: string }).id;
  const admin = { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" };
  const other = (await (await fetch(`${worker.url}/_keygate/v1/orgs`, { method: "POST", headers: admin, body: JSON.stringify({ name: "Other" }) })).json()) as any;
  await fetch(`${worker.url}/_keygate/v1/projects`, { method: "POST", headers: admin, body: JSON.stringify({ org_id: other.data.id, name: "Theirs", id: "their_product" }) });
});

afterAll(async () => {
  await closeBrowser(browser);
  await worker.dispose();
  await listed.close();
  await unlisted.close();
});

/** Runs `fetch(workerUrl + path, init)` with credentials inside `page` and returns what the page could read. */
function fetchInPage(page: any, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status?: number; body?: string; error?: string }> {
  return pageFetch(page, `${worker.url}${path}`, { ...init, credentials: "include" });
}

const signIn = (page: any, as = email) =>
  fetchInPage(page, "/_keygate/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: as, password: PASSWORD }),
  });

describe("a dashboard page on a listed origin", () => {
  it("signs in, calls the gateway with the session cookie, reads 401 and 403 bodies, and signs out with effect at once", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${listed.origin}/`);

      const before = await fetchInPage(page, "/api/v1/products");
      expect(before.status).toBe(401);
      expect(JSON.parse(before.body!)).toMatchObject({ ok: false, code: "UNAUTHORIZED", message: "missing credentials" });

      expect((await signIn(page)).status).toBe(200);
      const [cookie] = await context.cookies(worker.url);
      expect(cookie).toMatchObject({ name: "better-auth.session_token", httpOnly: true });

      const allowed = await fetchInPage(page, "/api/v1/products");
      expect(allowed.status).toBe(200);
      expect(JSON.parse(allowed.body!).headers).toMatchObject({ "x-keygate-caller": "session", "x-keygate-org-id": orgId });
      expect(JSON.parse(allowed.body!).headers.cookie).toBeUndefined();

      const forbidden = await fetchInPage(page, "/api/v1/projects/their_product");
      expect(forbidden.status).toBe(403);
      expect(JSON.parse(forbidden.body!)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "project_mismatch" });

      const post = await fetchInPage(page, "/api/v1/stories/s1/publish", { method: "POST" });
      expect(post.status).toBe(200);
      expect(JSON.parse(post.body!).headers["x-keygate-org-id"]).toBe(orgId);

      expect((await fetchInPage(page, "/_keygate/auth/sign-out", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(200);
      const after = await fetchInPage(page, "/api/v1/products");
      expect(after.status).toBe(401);
      // The old cookie, replayed by anyone who kept it, is dead at once too.
      const replayed = await fetch(`${worker.url}/api/v1/products`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
      expect(replayed.status).toBe(401);
      expect(await replayed.json()).toMatchObject({ message: "invalid session" });
    } finally {
      await closePage(page);
      await context.close();
    }
  });

  it("gets a readable 403 org_required for a signed-in user without an org, on reads and writes", async () => {
    const loner = `${crypto.randomUUID()}@example.com`;
    expect((await authPost("/sign-up/email", { name: "Loner", email: loner, password: PASSWORD })).status).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${listed.origin}/`);
      expect((await signIn(page, loner)).status).toBe(200);
      for (const method of ["GET", "POST"]) {
        const res = await fetchInPage(page, "/api/v1/products", { method });
        expect(res.status).toBe(403);
        expect(JSON.parse(res.body!)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "org_required" });
      }
    } finally {
      await closePage(page);
      await context.close();
    }
  });
});

describe("a page on an unlisted origin", () => {
  it("cannot make a signed-in user's session POST: the form's request carries the cookie and is refused with 403 origin_not_allowed", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${listed.origin}/`);
      expect((await signIn(page)).status).toBe(200);

      await page.goto(`${unlisted.origin}/form?action=${encodeURIComponent(`${worker.url}/api/v1/stories/s1/publish`)}`);
      const [response] = await Promise.all([page.waitForResponse((res: any) => res.url().endsWith("/publish")), page.click("button")]);
      expect(response.status()).toBe(403);
      expect(response.request().headers().origin).toBe(unlisted.origin);
      expect(JSON.parse(await response.text())).toMatchObject({ code: "FORBIDDEN", message: "origin_not_allowed" });

      await page.goto(`${unlisted.origin}/`);
      const read = await fetchInPage(page, "/api/v1/stories/s1/publish", { method: "POST" });
      expect(read).toEqual({ error: expect.stringContaining("Failed to fetch") });
    } finally {
      await closePage(page);
      await context.close();
    }
  });
});
