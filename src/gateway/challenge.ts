/**
 * @module
 * `WWW-Authenticate` challenges. Every 401 carries one (RFC 7235); callers that sent
 * `Authorization: Bearer` get RFC 6750's error form, which OAuth clients act on (re-run consent on
 * `insufficient_scope`).
 */
import type { Context } from "hono";
import { KeygateError } from "../errors";
import type { KeygateEnv } from "./context";

const REALM_CHALLENGE = 'Bearer realm="keygate"';

/** A 401 with `message` and the challenge that fits the caller. */
export function unauthorized(c: Context<KeygateEnv>, message: string): KeygateError {
  const challenge = bearerChallenge(c, "invalid_token")["WWW-Authenticate"] ?? REALM_CHALLENGE;
  return new KeygateError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": challenge } });
}

/** RFC 6750 `WWW-Authenticate` for a caller whose deciding credential was a bearer token, else nothing. */
export function bearerChallenge(c: Context<KeygateEnv>, error: string, scope?: readonly string[]): Record<string, string> {
  if (!isBearerCaller(c)) return {};
  const scopePart = scope ? `, scope="${scope.join(" ")}"` : "";
  return { "WWW-Authenticate": `Bearer error="${error}"${scopePart}` };
}

function isBearerCaller(c: Context<KeygateEnv>): boolean {
  return c.req.header("x-api-key") === undefined && /^bearer(?:\s|$)/i.test(c.req.header("authorization") ?? "");
}
