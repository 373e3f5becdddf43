/**
 * @module
 * Which credential a request presents (SPEC §1). The first one present decides alone, even when it
 * is empty or invalid; an `Authorization` header of another scheme is not Keygate's and is ignored.
 */
import { parse as parseCookies } from "hono/utils/cookie";
import { isKeygateToken } from "./api-key";

export type Credential =
  | { kind: "none" }
  | { kind: "api_key"; value: string }
  | { kind: "bearer"; value: string }
  | { kind: "session"; value: string };

const BEARER = /^bearer(?:\s+|$)/i;

/** Reads the deciding credential from `headers`; never validates it. */
export function readCredential(headers: Headers, sessionCookieNames: readonly string[]): Credential {
  const apiKey = headers.get("x-api-key");
  if (apiKey !== null) return { kind: "api_key", value: apiKey };

  const bearer = bearerToken(headers.get("authorization"));
  if (bearer !== undefined) return isKeygateToken(bearer) ? { kind: "api_key", value: bearer } : { kind: "bearer", value: bearer };

  const session = sessionCookie(headers.get("cookie"), sessionCookieNames);
  if (session !== undefined) return { kind: "session", value: session };

  return { kind: "none" };
}

/** The token of a `Bearer` authorization (`""` for a bare `Bearer`), `undefined` for other schemes. */
export function bearerToken(authorization: string | null): string | undefined {
  if (authorization === null) return undefined;
  const scheme = BEARER.exec(authorization);
  return scheme ? authorization.slice(scheme[0].length).trim() : undefined;
}

function sessionCookie(header: string | null, names: readonly string[]): string | undefined {
  if (header === null) return undefined;
  const cookies = parseCookies(header);
  for (const name of names) {
    const value = cookies[name];
    if (value !== undefined) return value;
  }
  return undefined;
}
