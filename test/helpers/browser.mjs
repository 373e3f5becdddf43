// A real browser for tests: Debian's Chromium (no browser download; `.ci/run` installs the
// `chromium` package when it is missing) driven by playwright-core. Plain JS like local-worker.mjs.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

/** Where Chromium is: $CHROMIUM_PATH, else `chromium` on PATH. */
export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const found = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
      if (found && existsSync(found)) return found;
    } catch {
      // not on PATH under this name
    }
  }
  throw new Error("Chromium not found: install the Debian package (apt-get install -y chromium) or set CHROMIUM_PATH");
}

/**
 * Launches headless Chromium. `--no-sandbox` because tests run as root. Returns the Browser; close
 * it with {@link closeBrowser}.
 */
export function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"], headless: true });
}

/**
 * Closes a page without hanging: Chromium can hang in `page.close()` while a page is still loading,
 * so wait for `load` first and bound both steps.
 */
export async function closePage(page) {
  await page.waitForLoadState("load", { timeout: 5_000 }).catch(() => {});
  await Promise.race([page.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]).catch(() => {});
}

/** Closes the browser, bounded like {@link closePage}. */
export async function closeBrowser(browser) {
  await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]).catch(() => {});
}

/**
 * Runs `fetch(url, init)` inside `page`, as the page's own script would, and returns what the page
 * could read: `{ status, body }`, or `{ error }` when the browser refused (CORS, network).
 * `init` is a browser RequestInit (`credentials: "include"` sends the page's cookies).
 */
export function fetchInPage(page, url, init = {}) {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        return { status: res.status, body: await res.text() };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url, init },
  );
}
