/**
 * @module
 * The authority of a caller that acts within one org: an API key, or an OAuth access token (its
 * user's consent, within the user's role). Project binding, scope checks and the admin API's
 * "never more than the caller holds" rules read this, whichever credential it came from.
 */
import type { ActiveKey } from "./active-key";
import { compileIpAllowlist } from "../core/ip";
import { compileOriginAllowlist } from "../core/origin";

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
