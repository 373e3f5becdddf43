/**
 * @module
 * The device authorization grant (RFC 8628) as a small state machine over `oauth_device_codes`:
 *
 * ```
 * pending ──approve──► approved ──token exchange──► exchanged
 *    │  └──deny──► denied
 *    └── (600 s) ──► expired
 * ```
 *
 * A client polls the token endpoint with its device code: `authorization_pending` while pending,
 * `slow_down` (and 5 s more interval) when it polls faster than the interval, `access_denied`,
 * `expired_token`; once approved, one exchange yields tokens and any later one `invalid_grant`.
 * Pace is only enforced while pending: the first poll after approval is answered at once. The
 * exchange re-checks the approver's membership and role: an approver who left the org (or lost the
 * role the scopes need) gets the client `access_denied`.
 */
import {
  decideDevice,
  denyDevice,
  findDeviceByCodeHash,
  findDeviceByUserCode,
  insertDeviceAuthorization,
  markDeviceExchanged,
  recordDevicePoll,
  type DeviceAuthorization,
} from "../db/oauth";
import { listMemberships, projectExists } from "../db/orgs";
import { KeygateError } from "../errors";
import { newId } from "../core/ids";
import { splitByRole } from "./consent";
import { OAuthError } from "./errors";
import { grantForCurrentRole, type TokenGrant } from "./tokens";
import { generateSecret, hashSecret, isSecretOf } from "../core/token-format";

export const DEVICE_CODE_TTL_S = 600;
export const POLL_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;

/** RFC 8628 §6.1: consonants only (no vowels, no look-alikes), 20^8 ≈ 2^34.6 codes. */
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LENGTH = 8;

export interface DeviceRequest {
  clientId: string;
  scopes: readonly string[];
  orgId: string | null;
  projectId: string | null;
}

export interface StartedDeviceAuthorization {
  deviceCode: string;
  /** As shown to the user: `ABCD-EFGH`. */
  userCode: string;
  expiresIn: number;
  interval: number;
}

/** Creates a pending device authorization. */
export async function startDeviceAuthorization(db: D1Database, request: DeviceRequest, now: number): Promise<StartedDeviceAuthorization> {
  const deviceCode = generateSecret("device");
  const userCode = randomUserCode();
  await insertDeviceAuthorization(db, {
    id: newId("dvc", now),
    device_code_hash: await hashSecret(deviceCode),
    user_code: userCode,
    client_id: request.clientId,
    scopes: request.scopes,
    org_id: request.orgId,
    project_id: request.projectId,
    interval_s: POLL_INTERVAL_S,
    expires_at: now + DEVICE_CODE_TTL_S * 1000,
    created_at: new Date(now).toISOString(),
  });
  return { deviceCode, userCode: displayUserCode(userCode), expiresIn: DEVICE_CODE_TTL_S, interval: POLL_INTERVAL_S };
}

/**
 * One poll of the token endpoint. Returns the grant to mint tokens from, exactly once.
 * @throws {OAuthError} `authorization_pending`, `slow_down`, `access_denied` (also when the approver
 *   no longer holds a role allowing any approved scope), `expired_token`, or `invalid_grant`
 *   (unknown code, another client's, or already exchanged).
 */
export async function pollDeviceAuthorization(db: D1Database, deviceCode: string, clientId: string, now: number): Promise<TokenGrant> {
  const device = isSecretOf("device", deviceCode) ? await findDeviceByCodeHash(db, await hashSecret(deviceCode)) : null;
  if (device === null || device.client_id !== clientId) throw new OAuthError("invalid_grant", "unknown device_code");
  if (device.status === "exchanged") throw new OAuthError("invalid_grant", "the device_code was already exchanged for tokens");
  if (now >= device.expires_at) throw new OAuthError("expired_token", "the device_code expired; start again");
  if (device.status === "denied") throw new OAuthError("access_denied", "the user denied the request");
  if (device.status === "pending") await throttlePendingPoll(db, device, now);

  const grant = await grantForCurrentRole(db, approvedGrant(device));
  if (grant === null) {
    await denyDevice(db, device.id);
    throw new OAuthError("access_denied", "the approver is no longer a member of the org with a role allowing these scopes");
  }
  if (!(await markDeviceExchanged(db, device.id))) throw new OAuthError("invalid_grant", "the device_code was already exchanged for tokens");
  return grant;
}

async function throttlePendingPoll(db: D1Database, device: DeviceAuthorization, now: number): Promise<never> {
  const tooFast = device.last_polled_at !== null && now - device.last_polled_at < device.interval_s * 1000;
  const interval = tooFast ? device.interval_s + SLOW_DOWN_STEP_S : device.interval_s;
  await recordDevicePoll(db, device.id, now, interval);
  if (tooFast) throw new OAuthError("slow_down", `polling too fast: wait ${interval} s between requests`);
  throw new OAuthError("authorization_pending", "the user has not approved the request yet");
}

function approvedGrant(device: DeviceAuthorization): TokenGrant {
  const { user_id, org_id, granted_scopes } = device;
  if (user_id === null || org_id === null || granted_scopes === null) throw new TypeError(`approved device authorization ${device.id} is incomplete`);
  return { familyId: device.id, clientId: device.client_id, userId: user_id, orgId: org_id, projectId: device.project_id, scopes: granted_scopes, resource: null };
}

/**
 * A pending, unexpired authorization by the code the user typed (any case, dash optional), else `null`.
 */
export async function findPendingDevice(db: D1Database, typed: string, now: number): Promise<DeviceAuthorization | null> {
  const userCode = normalizeUserCode(typed);
  if (userCode === null) return null;
  const device = await findDeviceByUserCode(db, userCode);
  return device !== null && device.status === "pending" && now < device.expires_at ? device : null;
}

export interface DeviceDecisionRequest {
  userCode: string;
  userId: string;
  action: "approve" | "deny";
  /** The org chosen on the page; must match the client's if it requested one. */
  orgId: string | undefined;
}

/**
 * A signed-in user approves or denies a pending authorization. Approval grants the requested
 * scopes the user's role in the org allows; when it allows none, nothing changes and the user may
 * pick another org or deny.
 * @throws {KeygateError} 400 `invalid_request` for an unknown, expired or decided code, an org the
 *   user is not a member of, or a project the org does not own; 403 `insufficient_scope` when the
 *   role allows none of the requested scopes.
 */
export async function decideDeviceAuthorization(db: D1Database, request: DeviceDecisionRequest, now: number): Promise<"approved" | "denied"> {
  const device = await findPendingDevice(db, request.userCode, now);
  if (device === null) throw invalidInput("user_code", "is unknown, expired or already decided");
  if (request.action === "deny") {
    if (!(await decideDevice(db, { id: device.id, userId: request.userId }))) throw invalidInput("user_code", "was decided concurrently");
    return "denied";
  }

  if (device.org_id !== null && request.orgId !== undefined && request.orgId !== device.org_id) {
    throw invalidInput("org_id", "differs from the org the client requested");
  }
  const orgId = device.org_id ?? request.orgId;
  if (orgId === undefined) throw invalidInput("org_id", "is required: the client requested no org");
  const membership = (await listMemberships(db, request.userId)).find((m) => m.org_id === orgId);
  if (membership === undefined) throw invalidInput("org_id", "is not an org you are a member of");
  if (device.project_id !== null && !(await projectExists(db, orgId, device.project_id))) {
    throw invalidInput("project_id", `"${device.project_id}" is not a project of this org`);
  }

  const { grantable, refused } = splitByRole(membership.role, device.scopes);
  if (grantable.length === 0) {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", {
      details: { requiredScopes: device.scopes, missingScopes: refused, reason: `your role "${membership.role}" may grant none of the requested scopes` },
    });
  }
  const approved = { orgId, projectId: device.project_id, scopes: grantable };
  if (!(await decideDevice(db, { id: device.id, userId: request.userId, approved }))) throw invalidInput("user_code", "was decided concurrently");
  return "approved";
}

function invalidInput(path: string, message: string): KeygateError {
  return KeygateError.badRequest([{ path, message }]);
}

/** Bytes below this (12 × 20) map onto the alphabet without modulo bias; the rest are redrawn. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % USER_CODE_ALPHABET.length);

function randomUserCode(): string {
  let code = "";
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(USER_CODE_LENGTH))) {
      if (byte < UNBIASED_BYTE_LIMIT && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
    }
  }
  return code;
}

/** `ABCDEFGH` → `ABCD-EFGH`. */
export function displayUserCode(userCode: string): string {
  return `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
}

/** The stored form of a typed user code (upper case, separators dropped), `null` when it cannot be one. */
export function normalizeUserCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]/g, "");
  return code.length === USER_CODE_LENGTH && [...code].every((char) => USER_CODE_ALPHABET.includes(char)) ? code : null;
}
