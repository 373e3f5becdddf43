/**
 * @module
 * The one way to the audit tables (events, staging, rollups): the `AUDIT_DB` binding when the
 * deployment gives the audit log its own D1 database, else `DB`. Audit writes then never queue
 * behind key lookups on the same single SQLite writer.
 */
import type { Bindings } from "../env";

/** The D1 database that holds the audit tables. */
export function auditDb(env: Pick<Bindings, "DB" | "AUDIT_DB">): D1Database {
  return env.AUDIT_DB ?? env.DB;
}

/** Whether the audit tables share `DB` with `api_keys` (then one batch covers both). */
export function auditSharesKeyDb(env: Pick<Bindings, "DB" | "AUDIT_DB">): boolean {
  return auditDb(env) === env.DB;
}
