/**
 * @module
 * SQL for better-auth's organization invitations (`invitations`), as sign-up reads them.
 */

/** Whether `email` (lowercase, as better-auth stores it) has an invitation that is pending and unexpired. */
export async function hasPendingInvitation(db: D1Database, email: string, now: Date): Promise<boolean> {
  const row = await db
    .prepare(`SELECT 1 FROM invitations WHERE email = ? AND status = 'pending' AND expires_at > ? LIMIT 1`)
    .bind(email, now.toISOString())
    .first();
  return row !== null;
}
