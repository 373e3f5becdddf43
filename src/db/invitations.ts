/**
 * @module
 * SQL for redeeming an org invitation by the secret of its link: better-auth's `invitations` rows
 * and the SHA-256 of each one's secret (`invitation_tokens`, migrations/0070_invitation_tokens.sql).
 */

/** An invitation as its link finds it, whatever its state. */
export interface InvitationByToken {
  id: string;
  org_id: string;
  org_name: string;
  email: string;
  role: string;
  status: string;
  expires_at: string;
}

/** The invitation whose secret hashes to `tokenHash`, or `null`. */
export async function findInvitationByTokenHash(db: D1Database, tokenHash: string): Promise<InvitationByToken | null> {
  return db
    .prepare(
      `SELECT i.id, i.org_id, o.name AS org_name, i.email, coalesce(i.role, 'member') AS role, i.status, i.expires_at
       FROM invitation_tokens t JOIN invitations i ON i.id = t.invitation_id JOIN orgs o ON o.id = i.org_id
       WHERE t.token_hash = ?`,
    )
    .bind(tokenHash)
    .first<InvitationByToken>();
}

/**
 * Makes `userId` a member of the invitation's org with its role and marks the invitation accepted,
 * in one transaction, only while it is pending, unexpired and addressed to `email` (lowercase):
 * true when this call redeemed it. A membership the user already has is kept as it is.
 */
export async function redeemInvitation(
  db: D1Database,
  redemption: { invitationId: string; userId: string; email: string; memberId: string },
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const { invitationId, userId, email, memberId } = redemption;
  const stillPending = `id = ?1 AND status = 'pending' AND expires_at > ?2 AND lower(email) = ?3`;
  const [, accepted] = await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO members (id, org_id, user_id, role, created_at)
         SELECT ?4, org_id, ?5, coalesce(role, 'member'), ?2 FROM invitations WHERE ${stillPending}`,
      )
      .bind(invitationId, at, email, memberId, userId),
    db.prepare(`UPDATE invitations SET status = 'accepted' WHERE ${stillPending}`).bind(invitationId, at, email),
  ]);
  return accepted?.meta.changes === 1;
}

/** The email of user `userId`, or `null` when there is no such user. */
export async function findUserEmail(db: D1Database, userId: string): Promise<string | null> {
  return (await db.prepare(`SELECT email FROM users WHERE id = ?`).bind(userId).first<{ email: string }>())?.email ?? null;
}
