/**
 * @module
 * `POST /_keygate/v1/invitations/accept` `{token}`: the signed-in user redeems an invitation link's
 * secret (src/auth/invitations.ts) and joins its org with its role; the console's Accept button and
 * any dashboard call it. Only sessions may: an invitation is for a person. The secret travels in
 * the body, never the path, so the audit event (`org.join`, or the refusal) never holds it.
 */
import { Hono } from "hono";
import { z } from "zod";
import { acceptInvitation } from "../auth/invitations";
import { findUserEmail } from "../db/invitations";
import { KeygateError } from "../errors";
import type { CallerEnv } from "../http/context";
import { recordChange } from "./actor";
import { readJson } from "../http/input";

export const InvitationAcceptInputSchema = z.strictObject({
  token: z.string().min(1).max(128).describe("the secret of the invitation's link: the last path segment of its accept_url"),
});

export const invitations = new Hono<CallerEnv>();

invitations.post("/accept", async (c) => {
  const caller = c.var.caller;
  if (caller.kind !== "session") {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", { details: { reason: "an invitation is accepted by a signed-in user" } });
  }
  const { token } = await readJson(c, InvitationAcceptInputSchema);
  const email = await findUserEmail(c.env.DB, caller.userId);
  const result = email === null ? ({ ok: false, reason: "invalid" } as const) : await acceptInvitation(c.env, token, { id: caller.userId, email });
  if (!result.ok && result.reason === "other_email") {
    throw new KeygateError("FORBIDDEN", "invitation_for_another_email", { details: { reason: "the invitation was sent to another email address" } });
  }
  if (!result.ok) {
    throw new KeygateError("NOT_FOUND", "not found", { details: { reason: "the invitation link is invalid, expired or already used" } });
  }
  recordChange(c, {
    action: "org.join",
    targetId: result.invitationId,
    orgId: result.orgId,
    projectId: null,
    changes: { user_id: [null, caller.userId], role: [null, result.role] },
  });
  return c.json({ ok: true, data: { org_id: result.orgId, role: result.role } });
});
