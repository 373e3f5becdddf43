/**
 * @module
 * What an admin caller may reach: ADMIN_TOKEN sees every org; an admin API key sees its own org,
 * and only its project when it is bound to one. Anything outside that is 404, as if absent.
 */
import type { Context } from "hono";
import { KeygateError } from "../errors";
import type { AdminChange, KeygateEnv } from "../gateway/context";
import { exceedingScopes } from "../gateway/scopes";

export function notFound(): KeygateError {
  return new KeygateError("NOT_FOUND", "not found");
}

/** The caller's API key, `undefined` for ADMIN_TOKEN. */
export function callerKey(c: Context<KeygateEnv>) {
  const caller = c.var.caller;
  return caller.kind === "api_key" ? caller.key : undefined;
}

/**
 * The org the request acts on. ADMIN_TOKEN names it (`required` makes that mandatory); a key acts on
 * its own org, and naming another is a 404.
 */
export function actingOrg(c: Context<KeygateEnv>, requested: string | undefined, required: true): string;
export function actingOrg(c: Context<KeygateEnv>, requested: string | undefined, required?: false): string | undefined;
export function actingOrg(c: Context<KeygateEnv>, requested: string | undefined, required = false): string | undefined {
  const key = callerKey(c);
  if (!key) {
    if (required && requested === undefined) throw KeygateError.badRequest([{ path: "org_id", message: "is required with ADMIN_TOKEN" }]);
    return requested;
  }
  if (requested !== undefined && requested !== key.orgId) throw notFound();
  return key.orgId;
}

/** The project filter of the request: a bound key's own project, or what was asked for. */
export function actingProject(c: Context<KeygateEnv>, requested: string | undefined): string | undefined {
  const bound = callerKey(c)?.projectId ?? undefined;
  if (bound === undefined) return requested;
  if (requested !== undefined && requested !== bound) throw notFound();
  return bound;
}

/** Whether the caller may see a record of this project. */
export function canSeeProject(c: Context<KeygateEnv>, projectId: string | null): boolean {
  const bound = callerKey(c)?.projectId;
  return bound === null || bound === undefined || bound === projectId;
}

/**
 * A key caller may only grant, or act on keys holding, scopes its own grants cover.
 * @throws {KeygateError} 403 `insufficient_scope` listing the scopes the caller does not hold.
 */
export function assertCovers(c: Context<KeygateEnv>, scopes: readonly string[]): void {
  const key = callerKey(c);
  if (!key) return;
  const exceeding = exceedingScopes(scopes, key.grants);
  if (exceeding.length > 0) {
    throw new KeygateError("FORBIDDEN", "insufficient_scope", { details: { requiredScopes: scopes, missingScopes: exceeding } });
  }
}

/** Names what this request changed, for its audit event. */
export function recordChange(c: Context<KeygateEnv>, change: AdminChange): void {
  c.set("adminChange", change);
}
