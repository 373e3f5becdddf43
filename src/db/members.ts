/**
 * @module
 * SQL for an org's people: its members (with their users' names and emails) and invitations.
 * Both are better-auth's tables (src/auth/schema.ts); an invitation written here is redeemed only
 * with the secret of its link, whose SHA-256 goes to `invitation_tokens` (./invitations).
 */

export interface MemberRecord {
  id: string;
  user_id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}

export interface InvitationRecord {
  id: string;
  org_id: string;
  email: string;
  role: string;
  status: "pending";
  expires_at: string;
  created_at: string;
  /** `null` when ADMIN_TOKEN invited. */
  inviter_id: string | null;
}

/** An org's members, oldest first (index `members_org_id_idx`). */
export async function listMembers(db: D1Database, orgId: string): Promise<MemberRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT m.id, m.user_id, u.email, u.name, m.role, m.created_at
       FROM members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY m.id`,
    )
    .bind(orgId)
    .all<MemberRecord>();
  return results;
}

/**
 * Inserts `invitation` with the SHA-256 of its link's secret, unless the email already belongs to a
 * member of the org or has a pending, unexpired invitation there; returns which of those stood in
 * the way, or `null` when inserted.
 */
export async function insertInvitation(db: D1Database, invitation: InvitationRecord, tokenHash: string): Promise<"member" | "invited" | null> {
  const [member, pending] = await db.batch<{ found: number }>([
    db
      .prepare(`SELECT 1 AS found FROM members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND lower(u.email) = ?2`)
      .bind(invitation.org_id, invitation.email),
    db
      .prepare(`SELECT 1 AS found FROM invitations WHERE org_id = ?1 AND email = ?2 AND status = 'pending' AND expires_at > ?3`)
      .bind(invitation.org_id, invitation.email, invitation.created_at),
  ]);
  if ((member?.results.length ?? 0) > 0) return "member";
  if ((pending?.results.length ?? 0) > 0) return "invited";
  const i = invitation;
  await db.batch([
    db
      .prepare(
        `INSERT INTO invitations (id, org_id, email, role, status, expires_at, created_at, inviter_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(i.id, i.org_id, i.email, i.role, i.status, i.expires_at, i.created_at, i.inviter_id),
    db.prepare(`INSERT INTO invitation_tokens (invitation_id, token_hash) VALUES (?, ?)`).bind(i.id, tokenHash),
  ]);
  return null;
}
