/** @jsxImportSource hono/jsx */
/**
 * @module
 * The sign-in and sign-up pages: email and password, posted by the console script to better-auth
 * (`/_keygate/auth/sign-in/email`, `/sign-up/email`) from this page's own Origin, which better-auth
 * trusts when it is BETTER_AUTH_URL's (or listed in `cors.origins`), then back to `next`, a console
 * path only. Signing up from an invitation's page carries the link's secret, which `SIGNUP=invite`
 * requires. ADMIN_TOKEN is never typed into a page.
 */
import { INVITATION_LINK_PATH } from "../../auth/invitations";
import { getConfig } from "../../env";
import type { ConsoleContext } from "../context";
import { CONSOLE_BASE, safeConsolePath } from "../paths";

export function signInPage(c: ConsoleContext, message?: string) {
  const next = safeConsolePath(c.req.query("next"));
  const signup = getConfig(c.env).signup;
  const mayRegister = signup === "open" || (signup === "invite" && invitationTokenIn(next) !== undefined);
  return c.render(
    <section class="card signin">
      <h1>Keygate console</h1>
      {message && <p class="notice warn">{message}</p>}
      <form data-sign-in data-next={next}>
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
      {mayRegister && (
        <p class="small">
          No account yet? <a href={`${CONSOLE_BASE}/sign-up?next=${encodeURIComponent(next)}`}>Create one</a>
        </p>
      )}
    </section>,
    { title: "Sign in" },
  );
}

export function signUpPage(c: ConsoleContext) {
  const next = safeConsolePath(c.req.query("next"));
  const invitationToken = invitationTokenIn(next);
  const signup = getConfig(c.env).signup;
  const refusal =
    signup === "closed"
      ? "Registration is closed on this gateway."
      : signup === "invite" && invitationToken === undefined
        ? "Registration needs an invitation: open the invitation link you were sent."
        : undefined;
  return c.render(
    <section class="card signin">
      <h1>Create a Keygate account</h1>
      {refusal ? (
        <p class="notice warn">{refusal}</p>
      ) : (
        <form data-sign-up data-next={next} data-invitation={invitationToken}>
          <label>
            Name
            <input type="text" name="name" autocomplete="name" required maxlength={200} autofocus />
          </label>
          <label>
            Email {invitationToken && <span>(the invited address)</span>}
            <input type="email" name="email" autocomplete="username" required maxlength={254} />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="new-password" required minlength={8} maxlength={128} />
          </label>
          <button type="submit">Create account</button>
          <p data-status class="small" role="status" aria-live="polite"></p>
          <noscript>
            <p class="notice warn">Signing up needs JavaScript.</p>
          </noscript>
        </form>
      )}
      <p class="small">
        Have an account? <a href={`${CONSOLE_BASE}/sign-in?next=${encodeURIComponent(next)}`}>Sign in</a>
      </p>
    </section>,
    { title: "Sign up" },
  );
}

/** The invitation secret of a console path that is an invitation's page. */
function invitationTokenIn(path: string): string | undefined {
  const prefix = `${INVITATION_LINK_PATH}/`;
  if (!path.startsWith(prefix)) return undefined;
  const token = path.slice(prefix.length).split(/[/?]/, 1)[0];
  return token === "" ? undefined : token;
}
