/**
 * @module
 * The audit middleware: after the response is decided, one event describing it goes to the
 * producer, under `waitUntil`. Gateway requests are all recorded; admin requests when they change
 * something or are refused (reads that succeed are not events).
 */
import type { Context, MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import type { AnyChainEnv } from "../http/context";
import { principalOf } from "../caller/caller";
import { newId } from "../core/ids";
import type { AuditEvent, Outcome } from "../schemas/audit-event";
import { sendAuditEvent } from "./producer";

/** Origin failures happen after Keygate allowed the request; they are not denials. */
const ORIGIN_FAILURES = new Set(["BAD_GATEWAY", "GATEWAY_TIMEOUT"]);
/** A POLICY_INVALID message names every bad entry; the event keeps its start. */
const MAX_REASON = 200;

export interface AuditOptions {
  /** Whether this request yields an event; every request when omitted. */
  when?(c: Context<AnyChainEnv>): boolean;
}

/** Records one audit event per request passing through (see {@link AuditOptions.when}). */
export function auditRequests(options: AuditOptions = {}): MiddlewareHandler<AnyChainEnv> {
  return async function auditRequestsMiddleware(c, next) {
    const startedAt = Date.now();
    await next();
    if (options.when && !options.when(c)) return;
    c.executionCtx.waitUntil(sendAuditEvent(c.env, auditEventOf(c, startedAt)));
  };
}

/** The audit event of a finished request. */
export function auditEventOf(c: Context<AnyChainEnv>, startedAt: number): AuditEvent {
  const now = Date.now();
  const caller = c.get("caller");
  const key = caller?.kind === "api_key" ? caller.key : undefined;
  const principal = caller && principalOf(caller);
  const change = c.get("adminChange");
  const error = c.error instanceof KeygateError ? c.error : undefined;
  const details = error?.details;
  const headers = c.req.raw.headers;
  return {
    id: newId("evt", now),
    ts: new Date(now).toISOString(),
    request_id: c.get("requestId"),
    client_request_id: clip(headers.get("x-request-id"), 200),
    org_id: change?.orgId ?? principal?.orgId ?? c.get("orgId") ?? null,
    project_id: change?.projectId ?? c.get("projectId") ?? principal?.projectId ?? null,
    key_id: key?.id ?? null,
    key_prefix: c.get("keyPrefix") ?? null,
    caller: c.get("decider") ?? null,
    ...outcomeOf(c, error),
    status: c.res.status,
    method: c.req.method.slice(0, 16),
    path: clip(c.req.path, 2048) ?? "",
    ip: clip(headers.get("cf-connecting-ip"), 64),
    origin: clip(headers.get("origin"), 512),
    country: clip(headers.get("cf-ipcountry") ?? cfField(c.req.raw, "country"), 8),
    colo: clip(coloOfRay(headers.get("cf-ray")) ?? cfField(c.req.raw, "colo"), 8),
    user_agent: clip(headers.get("user-agent"), 512),
    latency_ms: Math.max(0, now - startedAt),
    required_scopes: stringList(details?.requiredScopes) ?? [...(c.get("route")?.route.scopes ?? [])],
    missing_scopes: stringList(details?.missingScopes) ?? [],
    action: change?.action ?? null,
    target_id: change?.targetId ?? null,
    changes: change?.changes ?? null,
    rate_limit_policy: clip(stringList(details?.violated_policies)?.join(",") ?? null, 200),
    mcp_method: clip(c.get("mcp")?.method, 128),
    mcp_name: clip(c.get("mcp")?.name, 512),
  };
}

function outcomeOf(c: Context<AnyChainEnv>, error: KeygateError | undefined): { outcome: Outcome; reason: string | null } {
  if (error) return { outcome: ORIGIN_FAILURES.has(error.code) ? "allowed" : "denied", reason: clip(error.message, MAX_REASON) };
  if (c.error) return { outcome: "denied", reason: "internal error" };
  const wouldDeny = c.get("wouldDeny");
  return wouldDeny ? { outcome: "would_deny", reason: wouldDeny } : { outcome: "allowed", reason: null };
}

/**
 * The data centre a Ray ID names (`8f2b1c3d4e5f6a7b-FRA`). Cloudflare's edge sets `CF-Ray` and
 * `CF-IPCountry` on every request as it sets `CF-Connecting-IP`; they are read first because
 * `request.cf` is parsed from JSON on its first read, the largest single cost of an audit event.
 */
function coloOfRay(ray: string | null): string | null {
  const dash = ray?.lastIndexOf("-") ?? -1;
  return dash > 0 && dash < ray!.length - 1 ? ray!.slice(dash + 1) : null;
}

/** A string field of `request.cf`: where the edge headers are absent (local development, tests). */
function cfField(request: Request, field: "country" | "colo"): string | null {
  const value = request.cf?.[field];
  return typeof value === "string" ? value : null;
}

function clip(value: string | null | undefined, max: number): string | null {
  return value == null ? null : value.slice(0, max);
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string").slice(0, 100) : undefined;
}
