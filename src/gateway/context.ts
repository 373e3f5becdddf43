/**
 * @module
 * What the middleware of one request share through Hono's context.
 */
import type { Bindings } from "../env";
import type { ActiveKey } from "./active-key";
import type { RouteMatch } from "./policy";

/** Who is calling, once the credential is resolved. */
export type Caller =
  | { kind: "anonymous" }
  | { kind: "admin" }
  | { kind: "api_key"; key: ActiveKey };

export type CallerKind = Caller["kind"];

export interface KeygateVariables {
  /** Keygate's own id of this request, sent back as `x-request-id`. */
  requestId: string;
  route: RouteMatch;
  caller: Caller;
  /** The project the request was checked against, or the caller's bound project. */
  projectId: string | undefined;
  /** A restriction that report mode let pass (SPEC §7). */
  wouldDeny: string | undefined;
}

export interface KeygateEnv {
  Bindings: Bindings;
  Variables: KeygateVariables;
}
