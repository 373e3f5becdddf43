/**
 * @module
 * A timer for the request path. workerd's own `scheduler.wait` where there is one: with
 * nodejs_compat the global `setTimeout` is Node's, which builds a `Timeout` object around the
 * native timer on every call. Elsewhere (Node, where the gateway's proxy also runs in tests and
 * keygate/verify's users' code), `setTimeout`.
 */

/** A promise that settles once `ms` milliseconds have passed. */
export function wait(ms: number): Promise<void> {
  if (typeof scheduler !== "undefined") return scheduler.wait(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
