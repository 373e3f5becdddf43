/**
 * @module
 * `/_keygate/v1/orgs/:id/invitations` and `/orgs/:id/members` (SPEC §8): an org's people. They are
 * managed by humans, so API keys and OAuth tokens are refused whatever their scopes: ADMIN_TOKEN
 * (any org) or a session of the org — any member reads the member list, owners and admins invite.
 * Only an owner (or ADMIN_TOKEN) may invite another owner. An invitation is answered once with its
 * `accept_url`, the link that redeems it (src/auth/invitations.ts); only the link secret's SHA-256
 * is stored, and neither the link nor the secret is ever audited.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { invitationLink, newInvitationToken } from "../auth/invitations";
import { insertInvitation, listMembers, type InvitationRecord } from "../db/members";
import { orgExists } from "../db/orgs";
import { KeygateError } from "../errors";
import type { CallerEnv } from "../http/context";
import { newId } from "../core/ids";
import { fieldChanges, notFound, recordChange } from "./actor";
import { readJson } from "../http/input";
import { MANAGING_ROLES } from "./session-role";

/** better-auth's default: an invitation may be accepted for 48 hours. */
const INVITATION_TTL_MS = 48 * 3_600_000;

export const InvitationInputSchema = z.strictObject({
  email: z.email().max(254).transform((email) => email.toLowerCase()),
  role: z.enum(["member", "admin", "owner"]),
});

/**
 * Lets ADMIN_TOKEN through for an existing org and a session of the org (`manage`: as owner or
 * admin); answers everyone else 403, and an org the caller cannot see 404.
 */
function requireOrgPeople(manage: boolean): MiddlewareHandler<CallerEnv> {
  return async function requireOrgPeopleMiddleware(c, next) {
    const caller = c.var.caller;
    const orgId = c.req.param("id") ?? "";
    if (caller.kind === "admin") {
      if (!(await orgExists(c.env.DB, orgId))) throw notFound();
    } else if (caller.kind === "session" && caller.admin?.principal.orgId === orgId) {
      if (manage && !caller.admin.roles.some((role) => MANAGING_ROLES.has(role))) throw peopleForbidden("owners and admins invite");
    } else {
      throw peopleForbidden("an org's people are managed with ADMIN_TOKEN or a session of the org");
    }
    await next();
  };
}

function peopleForbidden(reason: string): KeygateError {
  return new KeygateError("FORBIDDEN", "insufficient_scope", { details: { reason } });
}

export const orgPeople = new Hono<CallerEnv>();

orgPeople.post("/:id/invitations", requireOrgPeople(true), async (c) => {
  const input = await readJson(c, InvitationInputSchema);
  const caller = c.var.caller;
  const orgId = c.req.param("id");
  if (input.role === "owner" && caller.kind === "session" && !caller.admin?.roles.includes("owner")) {
    throw peopleForbidden("only an owner invites an owner");
  }
  const now = Date.now();
  const invitation: InvitationRecord = {
    id: newId("inv"),
    org_id: orgId,
    email: input.email,
    role: input.role,
    status: "pending",
    expires_at: new Date(now + INVITATION_TTL_MS).toISOString(),
    created_at: new Date(now).toISOString(),
    inviter_id: caller.kind === "session" ? caller.userId : null,
  };
  const { token, tokenHash } = await newInvitationToken();
  const blocked = await insertInvitation(c.env.DB, invitation, tokenHash);
  if (blocked !== null) {
    const reason = blocked === "member" ? "the email belongs to a member already" : "the email has a pending invitation";
    throw new KeygateError("CONFLICT", "conflict", { details: { reason } });
  }
  recordChange(c, {
    action: "org.invite",
    targetId: invitation.id,
    orgId,
    projectId: null,
    changes: fieldChanges(null, invitation, ["email", "role", "expires_at"]),
  });
  return c.json({ ok: true, data: { ...invitation, accept_url: invitationLink(new URL(c.req.url).origin, token) } }, 201);
});

orgPeople.get("/:id/members", requireOrgPeople(false), async (c) => {
  return c.json({ ok: true, data: await listMembers(c.env.DB, c.req.param("id")) });
});
