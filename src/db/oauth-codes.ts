/**
 * @module
 * SQL for authorization codes (migrations/0020_oauth_authorization_code.sql), looked up by their
 * SHA-256 hex digest only.
 */

export interface AuthorizationCode {
  id: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  user_id: string;
  org_id: string;
  project_id: string | null;
  scopes: string[];
  resource: string | null;
  expires_at: number;
  created_at: string;
  used_at: string | null;
}

export type NewAuthorizationCode = Omit<AuthorizationCode, "used_at" | "scopes"> & { code_hash: string; scopes: readonly string[] };

type CodeRow = Omit<AuthorizationCode, "scopes"> & { scopes: string };

const CODE_COLUMNS = "id, client_id, redirect_uri, code_challenge, user_id, org_id, project_id, scopes, resource, expires_at, created_at, used_at";

function toCode(row: CodeRow): AuthorizationCode {
  return { ...row, scopes: JSON.parse(row.scopes) as string[] };
}

export async function insertAuthorizationCode(db: D1Database, code: NewAuthorizationCode): Promise<void> {
  await db
    .prepare(
      `INSERT INTO oauth_authorization_codes
       (id, code_hash, client_id, redirect_uri, code_challenge, user_id, org_id, project_id, scopes, resource, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      code.id,
      code.code_hash,
      code.client_id,
      code.redirect_uri,
      code.code_challenge,
      code.user_id,
      code.org_id,
      code.project_id,
      JSON.stringify(code.scopes),
      code.resource,
      code.expires_at,
      code.created_at,
    )
    .run();
}

/**
 * Uses a code for its one exchange: sets `used_at` if it is unused.
 * @returns the code as it was before (`used_at` tells a replay), `null` when unknown
 */
export async function useAuthorizationCode(db: D1Database, hash: string, now: number): Promise<AuthorizationCode | null> {
  const [claimed, found] = await db.batch<CodeRow>([
    db.prepare(`UPDATE oauth_authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL RETURNING ${CODE_COLUMNS}`).bind(new Date(now).toISOString(), hash),
    db.prepare(`SELECT ${CODE_COLUMNS} FROM oauth_authorization_codes WHERE code_hash = ?`).bind(hash),
  ]);
  const fresh = claimed?.results[0];
  if (fresh !== undefined) return toCode({ ...fresh, used_at: null });
  const known = found?.results[0];
  return known === undefined ? null : toCode(known);
}
