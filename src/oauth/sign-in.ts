/**
 * @module
 * Who is signed in on Keygate's pages, and the sign-in form they show when nobody is: a plain form
 * POST (no script, so the pages' CSP stays strict) that signs in through better-auth's own
 * endpoint, so its checks and rate limits apply, and redirects back to the page.
 */
import type { Context } from "hono";
import { AUTH_BASE_PATH, getAuth } from "../auth/auth";
import { verifySession } from "../auth/session";
import { getConfig } from "../env";
import { cacheContext } from "../http/cache-context";
import type { KeygateEnv } from "../http/context";
import { readCredential } from "../http/read-credential";
import { SignInFormSchema } from "../schemas/oauth";
import { readParams } from "./input";
import { pageHeaders, signInView } from "./page";

/** A signed-in user, with the cookie value form tokens are bound to. */
export interface SignedInUser {
  userId: string;
  sessionCookie: string;
}

/** The user of a valid dashboard session cookie, else `null`. */
export async function signedInUser(c: Context<KeygateEnv>): Promise<SignedInUser | null> {
  const credential = readCredential(c.req.raw.headers, getConfig(c.env).sessionCookieNames);
  if (credential.kind !== "session" || credential.value === null) return null;
  const session = await verifySession(cacheContext(c), c.env, credential.value);
  return session && { userId: session.userId, sessionCookie: credential.value };
}

/** The path and query of this request, where sign-in returns to. */
function returnPath(c: Context): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/** The sign-in page, answered where a signed-in user is needed. */
export function signInPage(c: Context<KeygateEnv>, returnTo = returnPath(c), message?: string, status: 200 | 401 | 429 = 200): Response | Promise<Response> {
  return c.html(signInView(returnTo, message), status, pageHeaders());
}

/**
 * `POST /_keygate/oauth/sign-in` (form: `email`, `password`, `return_to`): 303 back to `return_to`
 * with better-auth's session cookie, or the form again with what went wrong. The caller checks the
 * request's `Origin` first (login CSRF).
 */
export async function signInFromForm(c: Context<KeygateEnv>): Promise<Response> {
  const parsed = SignInFormSchema.safeParse((await readParams(c)) ?? {});
  const returnTo = parsed.success ? parsed.data.return_to : DEFAULT_RETURN;
  if (!parsed.success) return signInPage(c, returnTo, "Enter your email and password.", 401);

  const own = new URL(c.req.url).origin;
  const headers = new Headers({ "content-type": "application/json", origin: own });
  for (const name of ["cf-connecting-ip", "user-agent"]) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  const { email, password } = parsed.data;
  const answer = await getAuth(c.env).handler(
    new Request(`${own}${AUTH_BASE_PATH}/sign-in/email`, { method: "POST", headers, body: JSON.stringify({ email, password }) }),
  );
  if (answer.status === 429) {
    const page = await signInPage(c, returnTo, "Too many sign-in attempts: wait a moment and try again.", 429);
    const retryAfter = answer.headers.get("retry-after") ?? answer.headers.get("x-retry-after");
    if (retryAfter !== null) page.headers.set("retry-after", retryAfter);
    return page;
  }
  if (!answer.ok) return signInPage(c, returnTo, "Sign-in failed: check your email and password.", 401);

  const redirect = new Response(null, { status: 303, headers: { location: returnTo, ...pageHeaders() } });
  for (const cookie of answer.headers.getSetCookie()) redirect.headers.append("set-cookie", cookie);
  return redirect;
}

const DEFAULT_RETURN = "/_keygate/oauth/device";
