/**
 * @module
 * What the middleware of one request share through Hono's context.
 */
import type { Bindings } from "../env";
import type { AdminAction } from "../schemas/audit-event";
import type { Caller } from "../caller/caller";
import type { CompiledPolicy } from "../policy/compile";
import type { RouteMatch } from "../policy/match";

/** What `assignRequestId` sets, before anything else. */
export type RequestIdVariables = {
  /** Keygate's own id of this request, sent back as `x-request-id`. */
  requestId: string;
};

/** What `matchRoute` sets: only the gateway chain has it ({@link RoutedEnv}). */
export type MatchRouteVariables = {
  /** The policy the request was matched against (SPEC §5). */
  policy: CompiledPolicy;
  route: RouteMatch;
};

/** What `resolveCaller` sets: the gateway and admin chains have it ({@link CallerEnv}). */
export type CallerVariables = {
  caller: Caller;
};

/** Notes for the audit event, each set by the check that learns it; any may be missing. */
export type AuditNoteVariables = {
  /** The project the request was checked against, or the caller's bound project. */
  projectId?: string | undefined;
  /** A session caller's org for this request (SPEC §1; keys and tokens carry theirs). */
  orgId?: string | undefined;
  /** A restriction that report mode let pass (SPEC §7). */
  wouldDeny?: string | undefined;
  /** The kind of the deciding credential, valid or not (SPEC §1), for the audit event. */
  decider?: "api_key" | "oauth" | "session" | "admin" | undefined;
  /** The first 12 characters of a well-formed API key, for the audit event. */
  keyPrefix?: string | undefined;
  /** The MCP message of a POST to an MCP route, for its audit event (SPEC §10). */
  mcp?: { method: string | undefined; name: string | undefined } | undefined;
  /** What an admin request changed, for its audit event. */
  adminChange?: AdminChange | undefined;
};

export interface AdminChange {
  action: AdminAction;
  targetId: string;
  orgId: string;
  projectId: string | null;
  /** `{field: [before, after]}` of the fields the change set. */
  changes?: Record<string, [unknown, unknown]>;
}

/** Every request Keygate serves: its id, and the audit notes any check may add. */
export interface KeygateEnv {
  Bindings: Bindings;
  Variables: RequestIdVariables & AuditNoteVariables;
}

/** Behind `resolveCaller` (the gateway and admin chains): `c.var.caller` is set. */
export interface CallerEnv {
  Bindings: Bindings;
  Variables: KeygateEnv["Variables"] & CallerVariables;
}

/** Behind `matchRoute` and `resolveCaller` (the gateway chain): `c.var.route` is set too. */
export interface RoutedEnv {
  Bindings: Bindings;
  Variables: CallerEnv["Variables"] & MatchRouteVariables;
}

/**
 * Any env whose `route` and `caller` may or may not be set yet: what code shared by all chains
 * (challenges, the audit event) is written against.
 */
export interface AnyChainEnv {
  Bindings: Bindings;
  Variables: KeygateEnv["Variables"] & Partial<MatchRouteVariables & CallerVariables>;
}
