/**
 * @module
 * Where the console lives and how its pages link to each other.
 */
export const CONSOLE_BASE = "/_keygate/console";

/** A page of one org: `/_keygate/console/<org>/<rest>`. */
export function orgPath(orgId: string, rest = ""): string {
  return `${CONSOLE_BASE}/${encodeURIComponent(orgId)}${rest}`;
}

const RESOLVER = "https://console.invalid";

/**
 * `next` when it is a relative path to a console page (where sign-in and sign-up may send the
 * browser back), normalized (`..` resolved); otherwise the console's start. Refuses absolute and
 * protocol-relative URLs, backslashes and control characters, so it is never an open redirect.
 */
export function safeConsolePath(next: string | undefined): string {
  if (next === undefined || !next.startsWith("/") || /[\\\x00-\x20\x7f]/.test(next) || next.startsWith("//")) return CONSOLE_BASE;
  let url: URL;
  try {
    url = new URL(next, RESOLVER);
  } catch {
    return CONSOLE_BASE;
  }
  if (url.origin !== RESOLVER || !(url.pathname === CONSOLE_BASE || url.pathname.startsWith(`${CONSOLE_BASE}/`))) return CONSOLE_BASE;
  return url.pathname + url.search;
}
