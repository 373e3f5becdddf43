/**
 * @module
 * Who may register (SPEC §1 `SIGNUP`): anyone (`open`), only emails with a pending organization
 * invitation (`invite`, the default), or nobody (`closed`). Enforced where better-auth creates a
 * user, so no endpoint (sign-up, or any later one that creates users) can go around it.
 */
import { APIError } from "better-auth/api";
import { hasPendingInvitation } from "../db/invitations";
import type { SignupMode } from "../env";
import { KeygateError } from "../errors";

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
