/**
 * @module
 * Who may register (SPEC §1 `SIGNUP`): anyone (`open`), only the holder of a pending invitation's
 * link for that very email (`invite`, the default: the sign-up body carries the link's secret as
 * `invitationToken`), or nobody (`closed`). Enforced where better-auth creates a user, so no
 * endpoint (sign-up, or any later one that creates users) can go around it.
 *
 * Registering joins no org: the new user accepts the invitation on its page (./invitations), with
 * the same secret. An invited email alone neither registers nor joins anything.
 */
import { APIError } from "better-auth/api";
import type { SignupMode } from "../env";
import { KeygateError } from "../errors";
import { findPendingInvitation, isInvitedEmail } from "./invitations";

/** The sign-up body's field that carries an invitation link's secret. */
export const INVITATION_TOKEN_FIELD = "invitationToken";

/**
 * better-auth's `databaseHooks.user.create.before` check.
 * @param invitationToken - the secret the sign-up request carried, if any.
 * @throws {APIError} 403 with the contract's body: `signup_closed`, or `invitation_required` when
 *   `invitationToken` is no pending invitation for `email`. better-auth answers it as it is.
 */
export async function assertMayRegister(
  db: D1Database,
  mode: SignupMode,
  email: string,
  invitationToken: string | undefined,
  now = new Date(),
): Promise<void> {
  if (mode === "open") return;
  if (mode === "invite" && invitationToken !== undefined) {
    const invitation = await findPendingInvitation(db, invitationToken, now);
    if (invitation && isInvitedEmail(invitation, email)) return;
  }
  const refusal =
    mode === "closed"
      ? new KeygateError("FORBIDDEN", "signup_closed", { details: { reason: "registration is closed on this gateway" } })
      : new KeygateError("FORBIDDEN", "invitation_required", {
          details: { reason: "registering needs the link of a pending invitation for this email" },
        });
  throw new APIError("FORBIDDEN", refusal.body());
}

/** The invitation secret in the body of the better-auth request creating a user, if any. */
export function invitationTokenOf(context: { body?: unknown } | null | undefined): string | undefined {
  const body = context?.body;
  if (typeof body !== "object" || body === null) return undefined;
  const token = (body as Record<string, unknown>)[INVITATION_TOKEN_FIELD];
  return typeof token === "string" ? token : undefined;
}
