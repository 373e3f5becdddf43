/**
 * @module
 * The audit event of SPEC §9: one schema for the producer, the queue message, the consumer and
 * the audit API. It never holds a raw key, token or cookie: only ids and the 12-character prefix.
 */
import { z } from "zod";

export const OUTCOMES = ["allowed", "denied", "would_deny"] as const;
export const CALLERS = ["api_key", "oauth", "session", "admin"] as const;
export const ADMIN_ACTIONS = ["org.create", "org.invite", "org.join", "project.create", "key.create", "key.update", "key.rotate", "key.revoke"] as const;

const Text = (max: number) => z.string().max(max).nullable();

export const AuditEventSchema = z.object({
  id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
  // Milliseconds always, so stored timestamps compare and bucket alike (`…00Z` is `…00.000Z`).
  ts: z.iso.datetime({ offset: false }).transform((ts) => new Date(ts).toISOString()),
  request_id: z.string().max(64),
  client_request_id: Text(200),
  org_id: Text(64),
  project_id: Text(64),
  key_id: Text(64),
  key_prefix: Text(12),
  caller: z.enum(CALLERS).nullable(),
  outcome: z.enum(OUTCOMES),
  reason: Text(200),
  status: z.number().int().min(100).max(599),
  method: z.string().max(16),
  path: z.string().max(2048),
  ip: Text(64),
  origin: Text(512),
  country: Text(8),
  colo: Text(8),
  user_agent: Text(512),
  latency_ms: z.number().int().min(0),
  required_scopes: z.array(z.string()).max(100),
  missing_scopes: z.array(z.string()).max(100),
  action: z.enum(ADMIN_ACTIONS).nullable(),
  target_id: Text(64),
  /** What an admin change changed, `{field: [before, after]}`; never a secret (no hash, no raw key). */
  changes: z.record(z.string().max(64), z.tuple([z.unknown(), z.unknown()])).nullable().default(null),
  /** The rate limit(s) that refused the request (reason `rate_limited`), comma-separated. */
  rate_limit_policy: Text(200).default(null),
  /** MCP requests (SPEC §10): the JSON-RPC method and the tool, prompt or resource it names. */
  mcp_method: Text(128).default(null),
  mcp_name: Text(512).default(null),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** The event's fields in order: the audit table's columns and the CSV export's header. */
export const AUDIT_EVENT_COLUMNS = AuditEventSchema.keyof().options;
export type Outcome = AuditEvent["outcome"];
export type AdminAction = NonNullable<AuditEvent["action"]>;

/** A queue message carries one or more events, coalesced per isolate. */
export const AuditMessageSchema = z.object({ events: z.array(AuditEventSchema).min(1) });
export type AuditMessage = z.infer<typeof AuditMessageSchema>;
