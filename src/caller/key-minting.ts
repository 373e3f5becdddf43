/**
 * @module
 * The rules of minting a key from a caller's authority (the admin API's "never more than the
 * caller holds"): a child key inherits its creator's project binding, stays within its IP and Origin
 * restrictions, and never outlives it. Scope coverage is ../core/scopes.ts; limits narrowing is
 * ../ratelimit/narrowing.ts.
 */
import { isIpRuleWithin } from "../core/ip";
import { isOriginRuleWithin } from "../core/origin";
import { type Issue, KeygateError } from "../errors";
import type { Principal } from "./principal";

/**
 * A creator's IP and Origin restrictions bind the keys it creates, changes or rotates: every rule
 * must lie within its own, and an empty list (anywhere) is wider than any non-empty one.
 * @param creator - The calling key or token's principal; `undefined` (ADMIN_TOKEN) is bound by nothing.
 */
export function restrictionIssues(creator: Principal | undefined, ips: readonly string[], origins: readonly string[]): Issue[] {
  if (!creator) return [];
  const issues: Issue[] = [];
  const wider = (path: string, what: string) => issues.push({ path, message: `${what} is wider than the caller's own ${path}` });
  if (ips.length === 0 && creator.ipRules.length > 0) wider("allowed_ips", "an empty list");
  for (const rule of ips) if (!isIpRuleWithin(creator.ips, rule)) wider("allowed_ips", `"${rule}"`);
  if (origins.length === 0 && creator.originRules.length > 0) wider("allowed_origins", "an empty list");
  for (const rule of origins) if (!isOriginRuleWithin(creator.origins, rule)) wider("allowed_origins", `"${rule}"`);
  return issues;
}

/** A child key inherits its creator's project binding. */
export function creatorProject(bound: string | null, requested: string | undefined): string | null {
  if (bound === null) return requested ?? null;
  if (requested !== undefined && requested !== bound) throw new KeygateError("FORBIDDEN", "project_mismatch");
  return bound;
}

/** The earlier of an ISO expiry (null: never) and an epoch-ms limit (null: none). */
export function earliest(expiresAt: string | null, limitMs: number | null): string | null {
  if (limitMs === null) return expiresAt;
  if (expiresAt === null || Date.parse(expiresAt) > limitMs) return new Date(limitMs).toISOString();
  return expiresAt;
}

/** A key caller never makes a key that outlives itself: the issue when `expiresAt` would. */
export function expiryIssue(creator: Principal | undefined, expiresAt: string | null): Issue | undefined {
  const limit = creator?.expiresAt ?? null;
  if (limit === null) return undefined;
  if (expiresAt === null || Date.parse(expiresAt) > limit) {
    return { path: "expires_at", message: `must not be after the caller's own expiry ${new Date(limit).toISOString()}` };
  }
  return undefined;
}
