/**
 * @module
 * Which credential a request presents (SPEC §1). The first one present decides alone, even when it
 * is empty or invalid; an `Authorization` header of another scheme is not Keygate's and is ignored.
 *
 * Repeated headers arrive joined by `, `: two `Authorization` headers are one comma-separated
 * value, and two `Cookie` headers one value whose pairs are separated by `;` and `,`. A credential
 * seen twice with different values is ambiguous (`value: null`), never a choice between them.
 */
import { isKeygateToken } from "../core/api-key";

export type Credential =
  | { kind: "none" }
  | { kind: "api_key"; value: string }
  /** `null`: several Bearer values. */
  | { kind: "bearer"; value: string | null }
  /** `null`: session cookies of different values. */
  | { kind: "session"; value: string | null };

const BEARER = /^\s*bearer(?:\s+|$)/i;
/** Pairs are separated by `;`, and by the `, ` that joins two Cookie headers (a `,` before `name=`). */
const COOKIE_SEPARATOR = /;|,(?=\s*[^\s;,=]+=)/;

/** Reads the deciding credential from `headers`; never validates it. */
export function readCredential(headers: Headers, sessionCookieNames: readonly string[]): Credential {
  const apiKey = headers.get("x-api-key");
  if (apiKey !== null) return { kind: "api_key", value: apiKey };

  const bearers = bearerTokens(headers.get("authorization"));
  if (bearers.length > 1) return { kind: "bearer", value: null };
  const [bearer] = bearers;
  if (bearer !== undefined) return isKeygateToken(bearer) ? { kind: "api_key", value: bearer } : { kind: "bearer", value: bearer };

  const sessions = new Set(cookieValues(headers.get("cookie"), sessionCookieNames));
  if (sessions.size > 1) return { kind: "session", value: null };
  const [session] = sessions;
  if (session !== undefined) return { kind: "session", value: session };

  return { kind: "none" };
}

/**
 * The token of the one `Bearer` value among `authorization`'s comma-separated values (`""` for a
 * bare `Bearer`); `undefined` when there is none, or several.
 */
export function bearerToken(authorization: string | null): string | undefined {
  const tokens = bearerTokens(authorization);
  return tokens.length === 1 ? tokens[0] : undefined;
}

/** Whether any of `authorization`'s values is a `Bearer` credential (Keygate's, never forwarded). */
export function hasBearer(authorization: string | null): boolean {
  return bearerTokens(authorization).length > 0;
}

function bearerTokens(authorization: string | null): string[] {
  if (authorization === null) return [];
  const tokens: string[] = [];
  for (const value of authorization.split(",")) {
    const scheme = BEARER.exec(value);
    if (scheme) tokens.push(value.slice(scheme[0].length).trim());
  }
  return tokens;
}

/** The decoded values of every cookie named one of `names`, in order. */
function cookieValues(header: string | null, names: readonly string[]): string[] {
  const values: string[] = [];
  for (const { name, value } of cookiePairs(header)) {
    if (names.includes(name)) values.push(decodeCookieValue(value));
  }
  return values;
}

/**
 * `cookie` without the pairs named one of `names`; unchanged when it has none of them. `""` when
 * nothing is left.
 */
export function withoutCookies(cookie: string | null, names: readonly string[]): string {
  if (!cookie) return "";
  const pairs = cookiePairs(cookie);
  if (!pairs.some((pair) => names.includes(pair.name))) return cookie;
  return pairs
    .filter((pair) => !names.includes(pair.name))
    .map((pair) => pair.text)
    .join("; ");
}

function cookiePairs(header: string | null): { name: string; value: string; text: string }[] {
  if (!header) return [];
  return header
    .split(COOKIE_SEPARATOR)
    .map((text) => text.trim())
    .filter((text) => text !== "")
    .map((text) => {
      const eq = text.indexOf("=");
      return eq < 0 ? { name: "", value: text, text } : { name: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim(), text };
    });
}

function decodeCookieValue(value: string): string {
  const unquoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}
