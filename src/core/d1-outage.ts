/**
 * @module
 * Telling a D1 outage from a bad query. D1's binding reports both as errors whose message starts
 * with `D1_ERROR` (or names the database): an unreachable, reset, overloaded or timed-out database
 * is worth a retry (503), a query that SQLite refused is a bug (500).
 */

// Messages of D1's binding (`D1_ERROR: …`, `D1_EXEC_ERROR: …`) and of its transient failures.
const D1_FAILURE = /^D1_(?:EXEC_)?ERROR\b|\bD1 DB\b|network connection lost/i;
// SQLite refusing the statement itself: a syntax, type or constraint error, not the database's state.
const QUERY_FAULT = /SQLITE_(?:ERROR|CONSTRAINT|MISMATCH|RANGE|TOOBIG)\b|D1_TYPE_ERROR|D1_COLUMN_NOTFOUND/;

/**
 * Whether `error` is D1 failing rather than a statement it refused.
 * @example isD1Outage(new Error("D1_ERROR: Network connection lost.")); // true
 * @example isD1Outage(new Error("D1_ERROR: UNIQUE constraint failed: orgs.id: SQLITE_CONSTRAINT")); // false
 */
export function isD1Outage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return D1_FAILURE.test(error.message) && !QUERY_FAULT.test(error.message);
}
