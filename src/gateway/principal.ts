/**
 * @module
 * The authority of a caller that acts within one org: an API key, or an OAuth access token (its
 * user's consent, within the user's role). Project binding, scope checks and the admin API's
 * "never more than the caller holds" rules read this, whichever credential it came from.
 */
import type { ActiveKey } from "./active-key";
import type { Caller } from "./context";
import { compileIpAllowlist, compileOriginAllowlist } from "./network";

/**
 * What the checks need of an org-bound caller. An {@link ActiveKey} is one; an OAuth token gets one
 * with no IP or Origin rules and no expiry limit (see {@link OAUTH_PRINCIPAL_DEFAULTS}).
 */
export type Principal = Pick<
  ActiveKey,
  "orgId" | "projectId" | "grants" | "expiresAt" | "ipRules" | "originRules" | "ips" | "origins" | "rateLimits" | "quota"
>;

/**
 * An OAuth token carries no IP or Origin allowlist; keys it creates get none unless asked for.
 * Its principal has no expiry limit either: the user, not the one-hour token, creates those keys,
 * and no key rate limits (the policy's OAuth limits count the token's own requests).
 */
export const OAUTH_PRINCIPAL_DEFAULTS = {
  expiresAt: null,
  ipRules: [],
  originRules: [],
  ips: compileIpAllowlist([]),
  origins: compileOriginAllowlist([]),
  rateLimits: [],
  quota: null,
} as const satisfies Omit<Principal, "orgId" | "projectId" | "grants">;

/**
 * The caller's principal; `undefined` for ADMIN_TOKEN, anonymous callers and gateway sessions (a
 * session has one only at the admin API, where its role in the org it acts for gives it scopes).
 */
export function principalOf(caller: Caller): Principal | undefined {
  if (caller.kind === "api_key") return caller.key;
  if (caller.kind === "oauth") return caller.token.principal;
  if (caller.kind === "session") return caller.admin?.principal;
  return undefined;
}
