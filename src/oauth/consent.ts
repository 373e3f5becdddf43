/**
 * @module
 * What a user may consent to. A client requests catalog scopes, wildcards covering catalog scopes,
 * or `keygate:` scopes (SPEC §3); a user grants the requested scopes their role in the org allows:
 * owners and admins any of them, members everything but `keygate:` scopes (the admin API).
 */
import { catalogIssues, normalizeScopes, type Catalog } from "../core/scopes";
import { KEYGATE_SCOPES } from "../core/scope-grammar";
import { OAuthError } from "./errors";

const KEYGATE_PREFIX = "keygate:";
const ADMIN_ROLES: ReadonlySet<string> = new Set(["owner", "admin"]);

/**
 * The scopes of a space-separated `scope` parameter, deduplicated in order. Keygate has no default
 * scope: a client names what it needs.
 * @throws {OAuthError} `invalid_scope` when it is absent or empty, or naming entries outside the
 *   catalog and Keygate's own scopes.
 */
export function parseRequestedScopes(scope: string | undefined, catalog: Catalog): string[] {
  const scopes = normalizeScopes((scope ?? "").split(/\s+/).filter((entry) => entry !== ""));
  if (scopes.length === 0) throw new OAuthError("invalid_scope", "scope is required: name the catalog scopes the client needs");
  const bad = catalogIssues(scopes, catalog);
  if (bad.length > 0) throw new OAuthError("invalid_scope", `not in the scope catalog: ${bad.join(" ")}`);
  return scopes;
}

/** Whether a better-auth role (`owner`, `admin`, `member`, or several joined by `,`) is an org admin's. */
export function isOrgAdminRole(role: string): boolean {
  return role.split(",").some((part) => ADMIN_ROLES.has(part.trim()));
}

/** Whether only owners and admins may consent to `scope` (Keygate's own `keygate:` scopes). */
export function needsOrgAdmin(scope: string): boolean {
  return scope.startsWith(KEYGATE_PREFIX);
}

/** Whether a user of `role` may consent to `scope`. */
export function mayConsentTo(role: string, scope: string): boolean {
  return !needsOrgAdmin(scope) || isOrgAdminRole(role);
}

/** The requested scopes a user of `role` may grant, and those they may not. */
export function splitByRole(role: string, scopes: readonly string[]): { grantable: string[]; refused: string[] } {
  const grantable = scopes.filter((scope) => mayConsentTo(role, scope));
  return { grantable, refused: scopes.filter((scope) => !grantable.includes(scope)) };
}

/** The description a consent screen shows for a scope or wildcard. */
export function describeScope(scope: string, catalog: Catalog): string {
  const described = catalog.scopes[scope] ?? catalog.wildcards[scope] ?? (KEYGATE_SCOPES as Record<string, string>)[scope];
  if (described !== undefined) return described;
  return scope === "*" ? "Every scope of the catalog (never Keygate's own keygate: scopes)" : `Every scope starting with ${scope.slice(0, -1)}`;
}
