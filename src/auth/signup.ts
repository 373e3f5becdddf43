/**
 * @module
 * Who may register (SPEC §1 `SIGNUP`): anyone (`open`), only emails with a pending organization
 * invitation (`invite`, the default), or nobody (`closed`). Enforced where better-auth creates a
 * user, so no endpoint (sign-up, or any later one that creates users) can go around it.
 *
 * Registering redeems the email's pending invitations: the new user joins each inviting org with
 * the invited role. better-auth's own accept-invitation would need a verified email, which Keygate
 * cannot check (it sends no mail); registering an invited address is the same trust.
 */
import { APIError } from "better-auth/api";
import { hasPendingInvitation, listPendingInvitations, redeemInvitations } from "../db/invitations";
import type { SignupMode } from "../env";
import { KeygateError } from "../errors";
import { newId } from "../core/ids";

/**
 * better-auth's `databaseHooks.user.create.before` check.
 * @throws {APIError} 403 with the contract's body: `signup_closed`, or `invitation_required` when
 *   `email` has no pending invitation. better-auth answers it as it is.
 */
export async function assertMayRegister(db: D1Database, mode: SignupMode, email: string, now = new Date()): Promise<void> {
  if (mode === "open") return;
  if (mode === "invite" && (await hasPendingInvitation(db, email.toLowerCase(), now))) return;
  const refusal =
    mode === "closed"
      ? new KeygateError("FORBIDDEN", "signup_closed", { details: { reason: "registration is closed on this gateway" } })
      : new KeygateError("FORBIDDEN", "invitation_required", { details: { reason: "only invited emails may register" } });
  throw new APIError("FORBIDDEN", refusal.body());
}

/** better-auth's `databaseHooks.user.create.after`: the new user joins the orgs that invited its email. */
export async function redeemInvitationsOf(db: D1Database, user: { id: string; email: string }, now = new Date()): Promise<void> {
  const invitations = await listPendingInvitations(db, user.email.toLowerCase(), now);
  await redeemInvitations(db, user.id, invitations.map((invitation) => ({ ...invitation, memberId: newId("mem") })), now);
}
