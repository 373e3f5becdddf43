/**
 * @module
 * The D1 session that enforcement reads use. They read the primary, not the nearest replica: a
 * replica that has not applied a revocation yet would hand the cache a fresh-looking stale row and
 * stretch the revocation bound past KEY_CACHE_TTL_S. The tiered cache keeps these reads rare.
 */
import type { Bindings } from "../env";

export function readDb(env: Bindings): D1DatabaseSession {
  return env.DB.withSession("first-primary");
}
