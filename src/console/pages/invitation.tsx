/** @jsxImportSource hono/jsx */
/**
 * @module
 * An invitation's page, `/_keygate/console/invitations/<secret>`: the link
 * `POST /_keygate/v1/orgs/:id/invitations` answered. It shows the org and role; a signed-out visitor
 * signs in or up (carrying the secret) and comes back; the invited user accepts with a form post
 * (CSRF-checked like every console form), which the admin API redeems
 * (`POST /invitations/accept`, audited as `org.join`), and lands in the org. The secret AND the
 * signed-in user's email must match, once, before the invitation expires (src/auth/invitations.ts).
 */
import { findPendingInvitation, isInvitedEmail } from "../../auth/invitations";
import { getAuth } from "../../auth/auth";
import { getConfig } from "../../env";
import type { ConsoleContext } from "../context";
import { formatTime } from "../format";
import { Notice } from "../layout";
import { CONSOLE_BASE, orgPath } from "../paths";
import { ApiFailure } from "./parts";

/** `GET /invitations/:token`. */
export async function invitationPage(c: ConsoleContext) {
  const token = c.req.param("token") ?? "";
  const invitation = await findPendingInvitation(c.env.DB, token);
  if (!invitation) return invalidInvitation(c);
  const user = await signedInUser(c);
  const here = c.req.path;
  const offer = `${invitation.org_name} as ${invitation.role}`;
  const until = `This invitation is valid until ${formatTime(invitation.expires_at)} UTC, and once.`;
  if (!user) {
    const next = encodeURIComponent(here);
    const mayRegister = getConfig(c.env).signup !== "closed";
    return c.render(
      <section class="card signin stack">
        <h1>You are invited</h1>
        <p>{`Join ${offer}.`}</p>
        <p class="small">{until}</p>
        <p>{mayRegister ? "Sign in, or create an account with the invited email address, to accept." : "Sign in with the invited email address to accept."}</p>
        <div class="actions">
          {mayRegister && (
            <a class="button" href={`${CONSOLE_BASE}/sign-up?next=${next}`}>
              Create an account
            </a>
          )}
          <a class="button secondary" href={`${CONSOLE_BASE}/sign-in?next=${next}`}>
            Sign in
          </a>
        </div>
      </section>,
      { title: "Invitation" },
    );
  }
  if (!isInvitedEmail(invitation, user.email)) return otherEmail(c);
  return c.render(
    <section class="card signin stack">
      <h1>You are invited</h1>
      <p>{`Join ${offer}.`}</p>
      <p class="small">{until}</p>
      <form method="post" action={here}>
        <button type="submit">Accept</button>
      </form>
    </section>,
    { title: "Invitation" },
  );
}

/** `POST /invitations/:token`: joins the org, then opens it (signed out: the console's sign-in, and back). */
export async function acceptInvitationPost(c: ConsoleContext) {
  const result = await c.var.api.send<{ org_id: string }>("POST", "/invitations/accept", { token: c.req.param("token") ?? "" });
  if (result.ok) return c.redirect(orgPath(result.data.org_id), 303);
  if (result.status === 404) return invalidInvitation(c);
  if (result.message === "invitation_for_another_email") return otherEmail(c);
  throw new ApiFailure(result);
}

async function signedInUser(c: ConsoleContext): Promise<{ id: string; email: string } | null> {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers, query: { disableRefresh: true } });
  return session?.user ?? null;
}

function invalidInvitation(c: ConsoleContext) {
  c.status(404);
  return c.render(
    <Notice kind="error">
      <p>
        <strong>This invitation link is not valid.</strong>
      </p>
      <p>It may have expired, been used already, or be mistyped. Ask the org's owner or admin for a new invitation.</p>
      <p>
        <a href={CONSOLE_BASE}>Back to the console</a>
      </p>
    </Notice>,
    { title: "Invitation not valid" },
  );
}

function otherEmail(c: ConsoleContext) {
  c.status(403);
  return c.render(
    <Notice kind="error">
      <p>
        <strong>This invitation was sent to another email address than the one you are signed in with.</strong>
      </p>
      <p>Sign out, then sign in or create an account with the invited address, and open the link again.</p>
      <button type="button" class="secondary" data-sign-out>
        Sign out
      </button>
    </Notice>,
    { title: "Invitation for another address" },
  );
}
