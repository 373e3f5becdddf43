/**
 * @module
 * What the middleware of one request share through Hono's context.
 */
import type { Bindings } from "../env";
import type { AdminAction } from "../schemas/audit-event";
import type { Caller } from "../caller/caller";
import type { RouteMatch } from "../policy/match";

export interface KeygateVariables {
  /** Keygate's own id of this request, sent back as `x-request-id`. */
  requestId: string;
  route: RouteMatch;
  caller: Caller;
  /** The project the request was checked against, or the caller's bound project. */
  projectId: string | undefined;
  /** A session caller's org for this request (SPEC §1; keys and tokens carry theirs). */
  orgId: string | undefined;
  /** A restriction that report mode let pass (SPEC §7). */
  wouldDeny: string | undefined;
  /** The kind of the deciding credential, valid or not (SPEC §1), for the audit event. */
  decider: "api_key" | "oauth" | "session" | "admin" | undefined;
  /** The first 12 characters of a well-formed API key, for the audit event. */
  keyPrefix: string | undefined;
  /** The MCP message of a POST to an MCP route, for its audit event (SPEC §10). */
  mcp: { method: string | undefined; name: string | undefined } | undefined;
  /** What an admin request changed, for its audit event. */
  adminChange: AdminChange | undefined;
}

export interface AdminChange {
  action: AdminAction;
  targetId: string;
  orgId: string;
  projectId: string | null;
  /** `{field: [before, after]}` of the fields the change set. */
  changes?: Record<string, [unknown, unknown]>;
}

export interface KeygateEnv {
  Bindings: Bindings;
  Variables: KeygateVariables;
}
