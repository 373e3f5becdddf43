/**
 * @module
 * SQL for the OAuth device flow (migrations/0004_oauth.sql): device authorizations and the access
 * and refresh tokens they (and authorization codes, ./oauth-codes) yield. Secrets are looked up by
 * their SHA-256 hex digest only.
 */

export type DeviceStatus = "pending" | "approved" | "denied" | "exchanged";

/** A device authorization; `granted_scopes` and `user_id` are set once a user decides. */
export interface DeviceAuthorization {
  id: string;
  user_code: string;
  client_id: string;
  scopes: string[];
  org_id: string | null;
  project_id: string | null;
  status: DeviceStatus;
  interval_s: number;
  last_polled_at: number | null;
  user_id: string | null;
  granted_scopes: string[] | null;
  expires_at: number;
  created_at: string;
}

export interface NewDeviceAuthorization {
  id: string;
  device_code_hash: string;
  user_code: string;
  client_id: string;
  scopes: readonly string[];
  org_id: string | null;
  project_id: string | null;
  interval_s: number;
  expires_at: number;
  created_at: string;
}

type DeviceRow = Omit<DeviceAuthorization, "scopes" | "granted_scopes"> & { scopes: string; granted_scopes: string | null };

const DEVICE_COLUMNS = `id, user_code, client_id, scopes, org_id, project_id, status, interval_s, last_polled_at, user_id,
  granted_scopes, expires_at, created_at`;

function toDeviceAuthorization(row: DeviceRow): DeviceAuthorization {
  return {
    ...row,
    scopes: JSON.parse(row.scopes) as string[],
    granted_scopes: row.granted_scopes === null ? null : (JSON.parse(row.granted_scopes) as string[]),
  };
}

export async function insertDeviceAuthorization(db: D1Database, device: NewDeviceAuthorization): Promise<void> {
  await db
    .prepare(
      `INSERT INTO oauth_device_codes (id, device_code_hash, user_code, client_id, scopes, org_id, project_id, interval_s, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      device.id,
      device.device_code_hash,
      device.user_code,
      device.client_id,
      JSON.stringify(device.scopes),
      device.org_id,
      device.project_id,
      device.interval_s,
      device.expires_at,
      device.created_at,
    )
    .run();
}

export async function findDeviceByCodeHash(db: D1Database, hash: string): Promise<DeviceAuthorization | null> {
  const row = await db.prepare(`SELECT ${DEVICE_COLUMNS} FROM oauth_device_codes WHERE device_code_hash = ?`).bind(hash).first<DeviceRow>();
  return row && toDeviceAuthorization(row);
}

export async function findDeviceByUserCode(db: D1Database, userCode: string): Promise<DeviceAuthorization | null> {
  const row = await db.prepare(`SELECT ${DEVICE_COLUMNS} FROM oauth_device_codes WHERE user_code = ?`).bind(userCode).first<DeviceRow>();
  return row && toDeviceAuthorization(row);
}

/** Records a poll, and the interval it leaves for the next one. */
export async function recordDevicePoll(db: D1Database, id: string, polledAt: number, intervalSeconds: number): Promise<void> {
  await db.prepare(`UPDATE oauth_device_codes SET last_polled_at = ?, interval_s = ? WHERE id = ?`).bind(polledAt, intervalSeconds, id).run();
}

export interface DeviceDecision {
  id: string;
  userId: string;
  /** Approval only: the org, project and scopes granted. */
  approved?: { orgId: string; projectId: string | null; scopes: readonly string[] };
}

/** Approves or denies a pending authorization; false when it was no longer pending. */
export async function decideDevice(db: D1Database, decision: DeviceDecision): Promise<boolean> {
  const { approved } = decision;
  const result = await db
    .prepare(
      `UPDATE oauth_device_codes
       SET status = ?, user_id = ?, org_id = COALESCE(?, org_id), project_id = COALESCE(?, project_id), granted_scopes = ?
       WHERE id = ? AND status = 'pending'`,
    )
    .bind(
      approved ? "approved" : "denied",
      decision.userId,
      approved?.orgId ?? null,
      approved?.projectId ?? null,
      approved ? JSON.stringify(approved.scopes) : null,
      decision.id,
    )
    .run();
  return result.meta.changes === 1;
}

/** Denies an approved authorization at exchange (its approver lost the role that allowed it). */
export async function denyDevice(db: D1Database, id: string): Promise<void> {
  await db.prepare(`UPDATE oauth_device_codes SET status = 'denied' WHERE id = ? AND status = 'approved'`).bind(id).run();
}

/** Marks an approved authorization exchanged; false when it already was (a device code yields tokens once). */
export async function markDeviceExchanged(db: D1Database, id: string): Promise<boolean> {
  const result = await db.prepare(`UPDATE oauth_device_codes SET status = 'exchanged' WHERE id = ? AND status = 'approved'`).bind(id).run();
  return result.meta.changes === 1;
}

export type TokenKind = "access" | "refresh";

/** A stored token, without its hash. */
export interface TokenRecord {
  id: string;
  kind: TokenKind;
  family_id: string;
  client_id: string;
  user_id: string;
  org_id: string;
  project_id: string | null;
  scopes: string[];
  /** The resource (RFC 8707) the token was minted for, `null` when none. */
  resource: string | null;
  expires_at: number;
  created_at: string;
  used_at: string | null;
  revoked_at: string | null;
}

export type NewToken = Omit<TokenRecord, "used_at" | "revoked_at" | "scopes"> & { token_hash: string; scopes: readonly string[] };

type TokenRow = Omit<TokenRecord, "scopes"> & { scopes: string };

const TOKEN_COLUMN_NAMES = ["id", "kind", "family_id", "client_id", "user_id", "org_id", "project_id", "scopes", "resource", "expires_at", "created_at", "used_at", "revoked_at"];
const TOKEN_COLUMNS = TOKEN_COLUMN_NAMES.join(", ");
/** The same columns of `oauth_tokens t`, for joins. */
const TOKEN_COLUMNS_OF_T = TOKEN_COLUMN_NAMES.map((name) => `t.${name}`).join(", ");

function toTokenRecord(row: TokenRow): TokenRecord {
  return { ...row, scopes: JSON.parse(row.scopes) as string[] };
}

/**
 * Inserts tokens in one batch (an access token and its refresh token). With `parentId` (the refresh
 * token being rotated), each insert happens only while that token is unrevoked: a reuse detected
 * by a concurrent request revokes the family, parent included, and so blocks this pair; a pair
 * inserted first is in the family and revoked with it.
 * @returns whether the tokens were stored
 */
export async function insertTokens(db: D1Database, tokens: readonly NewToken[], parentId: string | null = null): Promise<boolean> {
  const insert = db.prepare(
    `INSERT INTO oauth_tokens (id, token_hash, kind, family_id, client_id, user_id, org_id, project_id, scopes, resource, expires_at, created_at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
     WHERE ?13 IS NULL OR NOT EXISTS (SELECT 1 FROM oauth_tokens WHERE id = ?13 AND revoked_at IS NOT NULL)`,
  );
  const results = await db.batch(
    tokens.map((t) =>
      insert.bind(
        t.id,
        t.token_hash,
        t.kind,
        t.family_id,
        t.client_id,
        t.user_id,
        t.org_id,
        t.project_id,
        JSON.stringify(t.scopes),
        t.resource,
        t.expires_at,
        t.created_at,
        parentId,
      ),
    ),
  );
  return results.every((result) => result.meta.changes === 1);
}

/**
 * Ends everything `userId` holds for `orgId`: revokes their tokens, denies the device codes they
 * approved but that were not exchanged yet, and uses up their unexchanged authorization codes.
 * @returns the digests of the access tokens revoked
 */
export async function revokeUserOrgGrants(db: D1Database, userId: string, orgId: string, now: number): Promise<string[]> {
  const at = new Date(now).toISOString();
  const [tokens] = await db.batch([
    db.prepare(`UPDATE oauth_tokens SET revoked_at = ? WHERE user_id = ? AND org_id = ? AND revoked_at IS NULL RETURNING kind, token_hash`).bind(at, userId, orgId),
    db.prepare(`UPDATE oauth_device_codes SET status = 'denied' WHERE user_id = ? AND org_id = ? AND status = 'approved'`).bind(userId, orgId),
    db.prepare(`UPDATE oauth_authorization_codes SET used_at = ? WHERE user_id = ? AND org_id = ? AND used_at IS NULL`).bind(at, userId, orgId),
  ]);
  const revoked = (tokens?.results ?? []) as { kind: TokenKind; token_hash: string }[];
  return revoked.filter((row) => row.kind === "access").map((row) => row.token_hash);
}

/** The token with this digest, of any kind and state. */
export async function findTokenByHash(db: D1Database | D1DatabaseSession, hash: string): Promise<TokenRecord | null> {
  const row = await db.prepare(`SELECT ${TOKEN_COLUMNS} FROM oauth_tokens WHERE token_hash = ?`).bind(hash).first<TokenRow>();
  return row && toTokenRecord(row);
}

/** A live access token with its user's email, as the gateway verifies it. */
export interface AccessTokenRow extends TokenRecord {
  email: string;
}

/** The unrevoked access token with this digest (expired or not), with its user's email. */
export async function findAccessToken(db: D1Database | D1DatabaseSession, hash: string): Promise<AccessTokenRow | null> {
  const row = await db
    .prepare(
      `SELECT ${TOKEN_COLUMNS_OF_T}, u.email FROM oauth_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ? AND t.kind = 'access' AND t.revoked_at IS NULL`,
    )
    .bind(hash)
    .first<TokenRow & { email: string }>();
  return row && { ...toTokenRecord(row), email: row.email };
}

/**
 * Uses a refresh token for its one rotation: sets `used_at` if it is `clientId`'s, unused, unrevoked
 * and unexpired.
 * @returns the token, or `null` when it cannot be used (look it up to tell reuse from garbage)
 */
export async function useRefreshToken(db: D1Database, hash: string, clientId: string, now: number): Promise<TokenRecord | null> {
  const row = await db
    .prepare(
      `UPDATE oauth_tokens SET used_at = ?
       WHERE token_hash = ? AND kind = 'refresh' AND client_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
       RETURNING ${TOKEN_COLUMNS}`,
    )
    .bind(new Date(now).toISOString(), hash, clientId, now)
    .first<TokenRow>();
  return row && toTokenRecord(row);
}

/** Revokes one token; returns the digests of the access tokens it revoked (to drop from caches). */
export async function revokeToken(db: D1Database, hash: string, now: number): Promise<string[]> {
  return revokeWhere(db, `token_hash = ?`, hash, now);
}

/** Revokes every token of a family; returns the digests of the access tokens it revoked. */
export async function revokeFamily(db: D1Database, familyId: string, now: number): Promise<string[]> {
  return revokeWhere(db, `family_id = ?`, familyId, now);
}

async function revokeWhere(db: D1Database, condition: string, value: string, now: number): Promise<string[]> {
  const { results } = await db
    .prepare(`UPDATE oauth_tokens SET revoked_at = ? WHERE ${condition} AND revoked_at IS NULL RETURNING kind, token_hash`)
    .bind(new Date(now).toISOString(), value)
    .all<{ kind: TokenKind; token_hash: string }>();
  return results.filter((row) => row.kind === "access").map((row) => row.token_hash);
}

/** Deletes device authorizations, authorization codes and tokens that expired before `before` (epoch ms); returns how many. */
export async function deleteExpiredOAuth(db: D1Database, before: number): Promise<number> {
  const results = await db.batch([
    db.prepare(`DELETE FROM oauth_device_codes WHERE expires_at < ?`).bind(before),
    db.prepare(`DELETE FROM oauth_authorization_codes WHERE expires_at < ?`).bind(before),
    db.prepare(`DELETE FROM oauth_tokens WHERE expires_at < ?`).bind(before),
  ]);
  return results.reduce((sum, result) => sum + result.meta.changes, 0);
}
