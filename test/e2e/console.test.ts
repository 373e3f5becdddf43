/**
 * The ops console in a real Chromium against the bundled Worker (SIGNUP=invite, the default): a user
 * signs in, creates a key and sees it once, revokes it and the gateway refuses it, filters the audit
 * log, follows the live tail and downloads the CSV, invites a colleague, who opens the link in a
 * fresh browser, signs up, accepts and lands in the org. Screenshots of every page go to test/console/__screenshots__/ (ignored by
 * git) at desktop and phone widths.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, closePage, launchBrowser } from "../helpers/browser.mjs";
import { ROOT, startLocalWorker } from "../helpers/local-worker.mjs";

/** The page's document, inside functions that run in the browser (the repo's typecheck has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number; clientWidth: number };
  activeElement: { textContent: string | null } | null;
};

const SHOTS = join(ROOT, "test", "console", "__screenshots__");
const PASSWORD = "correct horse battery staple";
const EMAIL = `ops-${Date.now()}@example.com`;

const worker = await startLocalWorker({ bindings: { SIGNUP: "invite" } });
let browser: any;
let page: any;
let org: string;
let rawKey: string;
let keyId: string;

async function authPost(path: string, body: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: worker.url };
  if (cookie) headers.cookie = cookie;
  return fetch(`${worker.url}/_keygate/auth${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

async function adminPost(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${worker.url}/_keygate/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: unknown }).data;
}

/**
 * The console user, owner of an org made with ADMIN_TOKEN: invited as owner, registered with the
 * invitation's secret (sign-up is invite-only), and joined by accepting the link.
 */
async function createOwner(): Promise<string> {
  const org = (await adminPost("/orgs", { name: "Ops Org" })).id as string;
  const link = (await adminPost(`/orgs/${org}/invitations`, { email: EMAIL, role: "owner" })).accept_url as string;
  const invitationToken = link.split("/").pop();
  const signUp = await authPost("/sign-up/email", { name: "Ops Owner", email: EMAIL, password: PASSWORD, invitationToken });
  if (signUp.status !== 200) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  const cookie = signUp.headers.getSetCookie().map((line) => line.split(";", 1)[0]).join("; ");
  const accepted = await fetch(link, { method: "POST", headers: { cookie, origin: worker.url, "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
  if (accepted.status !== 303) throw new Error(`accept: ${accepted.status} ${await accepted.text()}`);
  return org;
}

function gateway(key: string): Promise<Response> {
  return fetch(`${worker.url}/api/v1/prompts`, { headers: { "x-api-key": key } });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  org = await createOwner();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
});

afterAll(async () => {
  if (page) await closePage(page);
  if (browser) await closeBrowser(browser);
  await worker.dispose();
});

describe("the console in a browser", () => {
  it("signs in with email and password and lands on the org's overview", async () => {
    await page.goto(`${worker.url}/_keygate/console`);
    await page.waitForURL(/\/_keygate\/console\/sign-in/);
    await shot("sign-in");
    await page.fill("input[name=email]", EMAIL);
    await page.fill("input[name=password]", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(new RegExp(`/_keygate/console/${org}$`));
    expect(await page.textContent("h1")).toBe("Overview");
    await shot("overview");
  });

  it("creates a key and shows the raw key exactly once", async () => {
    await page.goto(`${worker.url}/_keygate/console/${org}/keys/new`);
    await shot("key-new");
    await page.fill("input[name=name]", "browser key");
    await page.check("input[name=scopes][value='prompts:read']");
    await page.click("button:has-text('Create key')");
    await page.waitForSelector("#raw-key");
    rawKey = (await page.textContent("#raw-key"))!.trim();
    expect(rawKey).toMatch(/^kg_live_[0-9A-Za-z]{38}$/);
    expect(await page.isVisible("button[data-copy]")).toBe(true);
    await shot("key-created");
    expect((await gateway(rawKey)).status).toBe(200);

    await page.click("a:has-text('Go to')");
    await page.waitForURL(/\/keys\/key_/);
    keyId = page.url().split("/keys/")[1]!;
    expect(await page.content()).not.toContain(rawKey);
    await shot("key");
    await page.goto(`${worker.url}/_keygate/console/${org}/keys`);
    expect(await page.content()).not.toContain(rawKey);
    expect(await page.textContent("table")).toContain("browser key");
    await shot("keys");
  });

  it("revokes the key after confirmation, and the gateway refuses it", async () => {
    await page.goto(`${worker.url}/_keygate/console/${org}/keys/${keyId}`);
    await page.click("button:has-text('Revoke…')");
    await page.waitForSelector("button:has-text('Yes, revoke key')");
    await shot("revoke-confirm");
    await page.click("button:has-text('Yes, revoke key')");
    await page.waitForURL(/done=revoke/);
    expect(await page.textContent(".notice")).toContain("revoked");
    const refused = await gateway(rawKey);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toBe("invalid api key");
  });

  it("filters the audit log, follows the live tail and downloads the CSV of the filter", async () => {
    const auditUrl = `${worker.url}/_keygate/console/${org}/audit`;
    const deadline = Date.now() + 10_000;
    do {
      await page.goto(`${auditUrl}?path=${encodeURIComponent("/api/v1/prompts")}&range=24h`);
      if ((await page.locator("#audit-rows tr[data-id]").count()) >= 2) break;
      await page.waitForTimeout(200);
    } while (Date.now() < deadline);
    const rows = await page.locator("#audit-rows tr[data-id]").allTextContents();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((row: string) => row.includes("/api/v1/prompts"))).toBe(true);
    expect(rows.some((row: string) => row.includes("invalid api key"))).toBe(true);
    await shot("audit");

    await page.click("button[data-tail]");
    const before = await page.locator("#audit-rows tr[data-id]").count();
    await gateway(rawKey);
    await page.waitForFunction((count: number) => document.querySelectorAll("#audit-rows tr[data-id]").length > count, before, { timeout: 10_000 });
    await page.click("button[data-tail]");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a:has-text('Export CSV')")]);
    const csv = readFileSync(await download.path(), "utf8");
    const [header, ...lines]: string[] = csv.trim().split("\r\n");
    expect(header!.split(",").map((cell) => cell.replaceAll('"', ""))).toEqual(expect.arrayContaining(["id", "ts", "outcome", "path", "key_prefix"]));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((line) => line.includes("/api/v1/prompts"))).toBe(true);
    expect(csv).not.toContain(rawKey);
  });

  it("signs out: the session ends and the console asks to sign in again", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${worker.url}/_keygate/console/${org}`);
    await page.click("button[data-sign-out]");
    await page.waitForURL(/\/_keygate\/console\/sign-in/);
    await page.goto(`${worker.url}/_keygate/console/${org}/keys`);
    await page.waitForURL(/\/_keygate\/console\/sign-in\?next=/);
    await page.fill("input[name=email]", EMAIL);
    await page.fill("input[name=password]", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(new RegExp(`/_keygate/console/${org}/keys$`));
  });

  it("is usable with the keyboard: the first Tab reaches the skip link, then the navigation", async () => {
    await page.goto(`${worker.url}/_keygate/console/${org}/keys`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Overview");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`/_keygate/console/${org}$`));
    await page.goto(`${worker.url}/_keygate/console/${org}/members`);
    await shot("members");
  });

  it("invites a colleague, who opens the link signed out, signs up, accepts and lands in the org", async () => {
    const colleague = `colleague-${Date.now()}@example.com`;
    await page.goto(`${worker.url}/_keygate/console/${org}/members`);
    await page.fill("input[name=email]", colleague);
    await page.selectOption("select[name=role]", "admin");
    await page.click("button:has-text('Invite')");
    await page.waitForSelector("#invitation-link");
    const link = (await page.textContent("#invitation-link"))!.trim();
    expect(link).toMatch(new RegExp(`^${worker.url}/_keygate/console/invitations/kgi_[0-9A-Za-z]{43}$`));
    await shot("invited");

    const invitee = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await invitee.goto(link);
      expect(await invitee.textContent("main")).toContain("Join Ops Org as admin.");
      await invitee.screenshot({ path: join(SHOTS, "invitation-signed-out.png"), fullPage: true });
      await invitee.click("a:has-text('Create an account')");
      await invitee.waitForURL(/\/_keygate\/console\/sign-up\?next=/);
      await invitee.fill("input[name=name]", "Colleague");
      await invitee.fill("input[name=email]", colleague);
      await invitee.fill("input[name=password]", PASSWORD);
      await invitee.screenshot({ path: join(SHOTS, "sign-up.png"), fullPage: true });
      await invitee.click("button[type=submit]");
      await invitee.waitForURL(link);
      await invitee.screenshot({ path: join(SHOTS, "invitation-accept.png"), fullPage: true });
      await invitee.click("button:has-text('Accept')");
      await invitee.waitForURL(new RegExp(`/_keygate/console/${org}$`));
      expect(await invitee.textContent("h1")).toBe("Overview");
      expect(await invitee.textContent("header")).toContain("Ops Org (admin)");

      await invitee.goto(link);
      expect(await invitee.textContent("main")).toContain("This invitation link is not valid.");
    } finally {
      await closePage(invitee);
    }
  });

  it("is readable on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of [
      ["phone-overview", ""],
      ["phone-keys", "/keys"],
      ["phone-audit", "/audit"],
      ["phone-members", "/members"],
    ] as const) {
      await page.goto(`${worker.url}/_keygate/console/${org}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} scrolls sideways`).toBeLessThanOrEqual(0);
      await shot(name);
    }
  });
});
