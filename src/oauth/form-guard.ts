/**
 * @module
 * CSRF defences of Keygate's own pages (the device verification page, the consent page of the
 * authorization-code flow, the sign-in form). Two independent checks:
 *
 * - **Origin.** A state-changing POST needs an `Origin` that is this Worker's own or one of the
 *   policy's `cors.origins`. A browser sends `Origin: null` for a form posted from a page whose
 *   referrer policy is `no-referrer` (and under some privacy settings); that is accepted only with
 *   `Sec-Fetch-Site: same-origin`, a header pages cannot set and that sandboxed frames, `data:`
 *   documents and other sites never carry.
 * - **Form token.** Every form a signed-in user submits carries an HMAC of the session cookie and
 *   what the form decides (the user code, the authorization request), keyed by BETTER_AUTH_SECRET.
 *   A page of another site can neither read it nor forge it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { getConfig, MISSING_AUTH_SECRET, type Bindings } from "../env";
import { KeygateError } from "../errors";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { base64Url } from "../core/sha256";

/** The hidden field that carries the form token. */
export const FORM_TOKEN_FIELD = "form_token";

/** Whether the request's `Origin` is trusted for a state-changing POST (see the module comment). */
export function isTrustedOrigin(c: Context<KeygateEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return false;
  if (origin === "null") return c.req.header("sec-fetch-site") === "same-origin";
  return origin === new URL(c.req.url).origin || loadPolicy(c.env).cors.origins.has(origin);
}

/**
 * Refuses a POST without a trusted `Origin`.
 * @throws {KeygateError} 403 `origin_not_allowed`.
 */
export function requireTrustedOrigin(): MiddlewareHandler<KeygateEnv> {
  return async function requireTrustedOriginMiddleware(c, next) {
    if (c.req.method === "POST" && !isTrustedOrigin(c)) throw new KeygateError("FORBIDDEN", "origin_not_allowed");
    await next();
  };
}

const keys = new Map<string, Promise<CryptoKey>>();

function formKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(`keygate form token v1\n${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * The form token for `purpose` (e.g. `device\n<user code>`) in the session whose cookie value is
 * `sessionCookie`: base64url HMAC-SHA256.
 * @throws {KeygateError} `UNAVAILABLE` without BETTER_AUTH_SECRET.
 */
export async function formToken(env: Bindings, sessionCookie: string, purpose: string): Promise<string> {
  const secret = getConfig(env).authSecret;
  if (secret === undefined) throw new KeygateError("UNAVAILABLE", MISSING_AUTH_SECRET);
  const mac = await crypto.subtle.sign("HMAC", await formKey(secret), new TextEncoder().encode(`${sessionCookie}\n${purpose}`));
  return base64Url(mac);
}

/**
 * Checks a submitted form token in constant time.
 * @throws {KeygateError} 403 `invalid_form_token` when it is missing or wrong.
 */
export async function assertFormToken(env: Bindings, sessionCookie: string, purpose: string, submitted: unknown): Promise<void> {
  const expected = await formToken(env, sessionCookie, purpose);
  if (typeof submitted === "string" && (await timingSafeEqual(submitted, expected))) return;
  throw new KeygateError("FORBIDDEN", "invalid_form_token", { details: { reason: "the form expired or was not served by Keygate: reload the page" } });
}
