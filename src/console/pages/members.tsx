/** @jsxImportSource hono/jsx */
/**
 * @module
 * An org's people: its members (`GET /orgs/:id/members`) and, for owners and admins, the invite
 * form (`POST /orgs/:id/invitations`), which shows the invitation's link once: the inviter sends it
 * to the invitee, who opens it, signs in or up with the invited email, and accepts.
 */
import type { Child } from "hono/jsx";
import { MANAGING_ROLES } from "../../admin/session-role";
import type { ConsoleContext } from "../context";
import { formatTime } from "../format";
import { Notice } from "../layout";
import { orgPath } from "../paths";
import { ApiErrorNotice, unwrap } from "./parts";
import { type Column, Table } from "./table";

interface Member {
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}

interface Invitation {
  id: string;
  email: string;
  role: string;
  expires_at: string;
  accept_url: string;
}

const canInvite = (c: ConsoleContext) => c.var.org.role.split(",").some((role) => MANAGING_ROLES.has(role.trim()));

export async function membersPage(c: ConsoleContext, notice?: Child) {
  const org = c.var.org.id;
  const members = unwrap(await c.var.api.get<Member[]>(`/orgs/${encodeURIComponent(org)}/members`));
  return c.render(
    <>
      <h1>Members</h1>
      {notice}
      <section class="card">
        <Table columns={MEMBER_COLUMNS} rows={members} />
      </section>
      {canInvite(c) && (
        <form method="post" action={orgPath(org, "/members")} class="card filters">
          <h2>Invite</h2>
          <label>
            Email
            <input type="email" name="email" required maxlength={254} />
          </label>
          <label>
            Role
            <select name="role">
              <option value="member">member (reads keys and audit)</option>
              <option value="admin">admin (manages keys and projects)</option>
              {c.var.org.role.includes("owner") && <option value="owner">owner</option>}
            </select>
          </label>
          <button type="submit">Invite</button>
        </form>
      )}
    </>,
    { title: "Members", section: "members" },
  );
}

/** `POST /<org>/members`: invites, then shows the list again with what happened. */
export async function invitePost(c: ConsoleContext) {
  const form = await c.req.parseBody();
  const result = await c.var.api.send<Invitation>("POST", `/orgs/${encodeURIComponent(c.var.org.id)}/invitations`, {
    email: String(form.email ?? ""),
    role: String(form.role ?? ""),
  });
  if (!result.ok) {
    c.status(result.status as 400);
    return membersPage(c, <ApiErrorNotice result={result} />);
  }
  c.status(201);
  return membersPage(
    c,
    <Notice kind="ok">
      <p>{`Invited ${result.data.email} as ${result.data.role}, until ${formatTime(result.data.expires_at)} UTC.`}</p>
      <p>
        Send them this link (it is shown only now; whoever holds it and signs in with that email joins). They open it, sign
        in or create an account with that email, and accept.
      </p>
      <div class="secret">
        <output id="invitation-link" aria-label="The invitation link">
          {result.data.accept_url}
        </output>
        <button type="button" data-copy="invitation-link" hidden>
          Copy
        </button>
      </div>
      <p id="invitation-link-note" class="small" aria-live="polite"></p>
    </Notice>,
  );
}

const MEMBER_COLUMNS: Column<Member>[] = [
  { header: "name", cell: (member) => member.name },
  { header: "email", cell: (member) => member.email },
  { header: "role", cell: (member) => member.role },
  { header: "since", cell: (member) => formatTime(member.created_at) },
];
