/** @jsxImportSource hono/jsx */
/**
 * @module
 * The console's start page: straight to the user's first org, unless invitations wait for the
 * user (or the user has no org yet). Invitations are better-auth's: listed and accepted through its
 * server API with the user's own session, as its `organization/*` endpoints would.
 */
import { getAuth } from "../../auth/auth";
import type { ConsoleContext } from "../context";
import { formatTime } from "../format";
import { Notice, type OrgChoice } from "../layout";
import { CONSOLE_BASE, orgPath } from "../paths";
import { unwrap } from "./parts";

export async function startPage(c: ConsoleContext, problem?: string) {
  const orgs = unwrap(await c.var.api.get<OrgChoice[]>("/orgs"));
  const invitations = await pendingInvitations(c);
  const first = orgs[0];
  if (first && invitations.length === 0 && problem === undefined) return c.redirect(orgPath(first.id), 303);
  return c.render(
    <>
      <h1>Keygate console</h1>
      {problem && <Notice kind="error">{problem}</Notice>}
      {invitations.length > 0 && (
        <section class="card stack">
          <h2>Invitations</h2>
          {invitations.map((invitation) => (
            <form method="post" action={`${CONSOLE_BASE}/invitations/${encodeURIComponent(invitation.id)}/accept`} class="actions">
              <span>{`${invitation.organizationName ?? invitation.organizationId} as ${invitation.role}, until ${formatTime(new Date(invitation.expiresAt).toISOString())} UTC`}</span>
              <button type="submit">Accept</button>
            </form>
          ))}
        </section>
      )}
      {orgs.length === 0 && invitations.length === 0 && (
        <Notice kind="warn">
          <p>You are not a member of any org yet. Ask an owner or admin of your org to invite you.</p>
        </Notice>
      )}
      {orgs.length > 0 && (
        <section class="card">
          <h2>Your orgs</h2>
          <ul>
            {orgs.map((org) => (
              <li>
                <a href={orgPath(org.id)}>{`${org.name} (${org.role})`}</a>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>,
    { title: "Start" },
  );
}

/**
 * The signed-in user's pending invitations. Asked by email on the server: better-auth lists them for
 * a session only once its email is verified, and Keygate sends no verification emails (accepting
 * checks the email matches, see src/auth/auth.ts).
 */
async function pendingInvitations(c: ConsoleContext) {
  const auth = getAuth(c.env);
  const session = await auth.api.getSession({ headers: c.req.raw.headers, query: { disableRefresh: true } });
  if (!session) return [];
  return auth.api.listUserInvitations({ query: { email: session.user.email } });
}

/** `POST /_keygate/console/invitations/<id>/accept`: joins the org, then opens it. */
export async function acceptInvitationPost(c: ConsoleContext) {
  try {
    const accepted = await getAuth(c.env).api.acceptInvitation({ body: { invitationId: c.req.param("id") ?? "" }, headers: c.req.raw.headers });
    const orgId = accepted?.invitation.organizationId;
    if (orgId) return c.redirect(orgPath(orgId), 303);
  } catch {
    // better-auth refused: expired, not this user's, or already used
  }
  c.status(400);
  return startPage(c, "The invitation could not be accepted: it may have expired, been used, or be meant for another email.");
}
