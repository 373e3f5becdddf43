/**
 * @module
 * What an admin caller may reach: ADMIN_TOKEN sees every org; an admin API key, or an OAuth token
 * holding `keygate:` scopes, sees its own org, and only its project when it is bound to one.
 * Anything outside that is 404, as if absent.
 */
import type { Context } from "hono";
import { KeygateError } from "../errors";
import type { AdminChange, CallerEnv } from "../http/context";
import { principalOf } from "../caller/caller";
import type { Principal } from "../caller/principal";
import { exceedingScopes } from "../core/scopes";

export function notFound(): KeygateError {
  return new KeygateError("NOT_FOUND", "not found");
}

/** The caller's principal (its API key or OAuth token), `undefined` for ADMIN_TOKEN. */
export function callerPrincipal(c: Context<CallerEnv>): Principal | undefined {
  return principalOf(c.var.caller);
}

/**
 * The org the request acts on. ADMIN_TOKEN names it (`required` makes that mandatory); a key or token acts on
 * its own org, and naming another is a 404.
 */
export function actingOrg(c: Context<CallerEnv>, requested: string | undefined, required: true): string;
export function actingOrg(c: Context<CallerEnv>, requested: string | undefined, required?: false): string | undefined;
export function actingOrg(c: Context<CallerEnv>, requested: string | undefined, required = false): string | undefined {
  const principal = callerPrincipal(c);
  if (!principal) {
    if (required && requested === undefined) throw KeygateError.badRequest([{ path: "org_id", message: "is required with ADMIN_TOKEN" }]);
    return requested;
  }
  if (requested !== undefined && requested !== principal.orgId) throw notFound();
  return principal.orgId;
}

/** The project filter of the request: a bound key's own project, or what was asked for. */
export function actingProject(c: Context<CallerEnv>, requested: string | undefined): string | undefined {
  const bound = callerPrincipal(c)?.projectId ?? undefined;
  if (bound === undefined) return requested;
  if (requested !== undefined && requested !== bound) throw notFound();
  return bound;
}

/** Whether the caller may see a record of this project. */
export function canSeeProject(c: Context<CallerEnv>, projectId: string | null): boolean {
  const bound = callerPrincipal(c)?.projectId;
  return bound === null || bound === undefined || bound === projectId;
}

/**
 * A key caller may only grant, or act on keys holding, scopes its own grants cover.
 * @throws {KeygateError} 403 `insufficient_scope` listing the scopes the caller does not hold.
 */
export function assertCovers(c: Context<CallerEnv>, scopes: readonly string[]): void {
  const principal = callerPrincipal(c);
  if (!principal) return;
  const exceeding = exceedingScopes(scopes, principal.grants);
  if (exceeding.length > 0) {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", { details: { requiredScopes: scopes, missingScopes: exceeding } });
  }
}

/**
 * `{field: [before, after]}` for each of `fields` whose value differs between `before` (`null`
 * for a creation) and `after`, compared as JSON.
 */
export function fieldChanges<T extends object>(before: T | null, after: T, fields: readonly (keyof T & string)[]): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  for (const field of fields) {
    const was = before === null ? null : (before[field] ?? null);
    const now = after[field] ?? null;
    if (JSON.stringify(was) !== JSON.stringify(now)) changes[field] = [was, now];
  }
  return changes;
}

/** Names what this request changed, for its audit event. */
export function recordChange(c: Context<CallerEnv>, change: AdminChange): void {
  c.set("adminChange", change);
}
