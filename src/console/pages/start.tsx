/** @jsxImportSource hono/jsx */
/**
 * @module
 * The console's start page: straight to the user's first org, or, for a user without one, how to
 * get in (an invitation's link; invitations are never listed by email, see src/auth/invitations.ts).
 */
import type { ConsoleContext } from "../context";
import { Notice, type OrgChoice } from "../layout";
import { orgPath } from "../paths";
import { unwrap } from "./parts";

export async function startPage(c: ConsoleContext) {
  const orgs = unwrap(await c.var.api.get<OrgChoice[]>("/orgs"));
  const first = orgs[0];
  if (first) return c.redirect(orgPath(first.id), 303);
  return c.render(
    <>
      <h1>Keygate console</h1>
      <Notice kind="warn">
        <p>You are not a member of any org yet. Ask an owner or admin of your org for an invitation, then open its link.</p>
      </Notice>
    </>,
    { title: "Start" },
  );
}
