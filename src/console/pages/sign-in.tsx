/** @jsxImportSource hono/jsx */
/**
 * @module
 * The sign-in page: email and password, posted by the console script to better-auth
 * (`/_keygate/auth/sign-in/email`) from this page's own Origin, which better-auth trusts when it is
 * BETTER_AUTH_URL's (or listed in `cors.origins`). ADMIN_TOKEN is never typed into a page.
 */
import type { Context } from "hono";
import { CONSOLE_BASE } from "../paths";

export function signInPage(c: Context, message?: string) {
  const next = c.req.query("next");
  const safeNext = next?.startsWith(`${CONSOLE_BASE}/`) ? next : CONSOLE_BASE;
  return c.render(
    <section class="card signin">
      <h1>Keygate console</h1>
      {message && <p class="notice warn">{message}</p>}
      <form data-sign-in data-next={safeNext}>
        <label>
          Email
          <input type="email" name="email" autocomplete="username" required autofocus />
        </label>
        <label>
          Password
          <input type="password" name="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
        <p data-status class="small" role="status" aria-live="polite"></p>
        <noscript>
          <p class="notice warn">Signing in needs JavaScript.</p>
        </noscript>
      </form>
    </section>,
    { title: "Sign in" },
  );
}
