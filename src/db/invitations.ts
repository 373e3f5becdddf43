/**
 * @module
 * SQL for better-auth's organization invitations (`invitations`), as sign-up reads and redeems them.
 */

/** A pending invitation as registration redeems it. */
export interface PendingInvitation {
  id: string;
  org_id: string;
  role: string | null;
}

/** The pending, unexpired invitations of `email` (lowercase), however the inviter spelt its case. */
export async function listPendingInvitations(db: D1Database, email: string, now: Date): Promise<PendingInvitation[]> {
  const { results } = await db
    .prepare(`SELECT id, org_id, role FROM invitations WHERE lower(email) = ? AND status = 'pending' AND expires_at > ?`)
    .bind(email, now.toISOString())
    .all<PendingInvitation>();
  return results;
}

/** Whether `email` has an invitation that is pending and unexpired. */
export async function hasPendingInvitation(db: D1Database, email: string, now: Date): Promise<boolean> {
  return (await listPendingInvitations(db, email, now)).length > 0;
}

/**
 * Makes `userId` a member of each invitation's org with its role (`member` when none) and marks the
 * invitations accepted, in one batch. A membership the user already has is kept as it is.
 */
export async function redeemInvitations(
  db: D1Database,
  userId: string,
  invitations: readonly (PendingInvitation & { memberId: string })[],
  now: Date,
): Promise<void> {
  if (invitations.length === 0) return;
  const createdAt = now.toISOString();
  await db.batch(
    invitations.flatMap((invitation) => [
      db
        .prepare(`INSERT OR IGNORE INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)`)
        .bind(invitation.memberId, invitation.org_id, userId, invitation.role ?? "member", createdAt),
      db.prepare(`UPDATE invitations SET status = 'accepted' WHERE id = ? AND status = 'pending'`).bind(invitation.id),
    ]),
  );
}
