/**
 * @module
 * Org invitations are redeemed by the secret of their link, never by email alone: Keygate sends no
 * mail, so owning an address is never proven, and whoever registers an invited email must not get
 * its role. `POST /_keygate/v1/orgs/:id/invitations` answers the link once
 * (`<origin>/_keygate/console/invitations/kgi_…`, 256 bits of CSPRNG randomness); only its SHA-256
 * is stored. Redeeming needs the secret AND a signed-in user whose email is the invited one
 * (case-insensitive), while the invitation is pending and unexpired; it is single-use.
 */
import type { Bindings } from "../env";
import { findInvitationByTokenHash, redeemInvitation, type InvitationByToken } from "../db/invitations";
import { newId } from "../core/ids";
import { generateSecret, hashSecret, isSecretOf } from "../core/token-format";
import { forgetMemberships } from "./session-cache";

/** Where the console serves an invitation's page: `<INVITATION_LINK_PATH>/<secret>`. */
export const INVITATION_LINK_PATH = "/_keygate/console/invitations";

/** A new invitation secret and the digest stored for it. */
export async function newInvitationToken(): Promise<{ token: string; tokenHash: string }> {
  const token = generateSecret("invitation");
  return { token, tokenHash: await hashSecret(token) };
}

/** The link that redeems `token`, on the origin the invitation was made at. */
export function invitationLink(origin: string, token: string): string {
  return `${origin}${INVITATION_LINK_PATH}/${token}`;
}

/**
 * The pending, unexpired invitation of `token`, or `null` (malformed, unknown, used, withdrawn or
 * expired: the holder learns nothing more). A malformed token costs no D1 read.
 */
export async function findPendingInvitation(db: D1Database, token: string, now = new Date()): Promise<InvitationByToken | null> {
  if (!isSecretOf("invitation", token)) return null;
  const invitation = await findInvitationByTokenHash(db, await hashSecret(token));
  if (!invitation || invitation.status !== "pending" || invitation.expires_at <= now.toISOString()) return null;
  return invitation;
}

/** Whether `email` is the address an invitation was sent to (emails compare case-insensitively). */
export function isInvitedEmail(invitation: Pick<InvitationByToken, "email">, email: string): boolean {
  return invitation.email.toLowerCase() === email.toLowerCase();
}

export type AcceptResult = { ok: true; orgId: string; role: string; invitationId: string } | { ok: false; reason: "invalid" | "other_email" };

/**
 * Redeems `token` for `user`: they join the invitation's org with its role. Refuses (changing
 * nothing) a token that is not pending, and a user whose email is not the invited one.
 */
export async function acceptInvitation(env: Bindings, token: string, user: { id: string; email: string }, now = new Date()): Promise<AcceptResult> {
  const invitation = await findPendingInvitation(env.DB, token, now);
  if (!invitation) return { ok: false, reason: "invalid" };
  if (!isInvitedEmail(invitation, user.email)) return { ok: false, reason: "other_email" };
  const redeemed = await redeemInvitation(
    env.DB,
    { invitationId: invitation.id, userId: user.id, email: user.email.toLowerCase(), memberId: newId("mem") },
    now,
  );
  // A concurrent accept of the same link won the race: single use.
  if (!redeemed) return { ok: false, reason: "invalid" };
  await forgetMemberships(env.KEY_CACHE, user.id);
  return { ok: true, orgId: invitation.org_id, role: invitation.role, invitationId: invitation.id };
}
