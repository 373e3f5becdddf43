/**
 * @module
 * D1 sessions. Enforcement reads may come from the nearest read replica: every admin change
 * invalidates the caches, and a replica lags the primary by far less than the cache TTL.
 */
import type { Bindings } from "../env";

export function readDb(env: Bindings): D1DatabaseSession {
  return env.DB.withSession("first-unconstrained");
}
