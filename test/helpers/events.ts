/**
 * Audit events for tests: valid by the schema, with whatever fields the test cares about.
 */
import { env } from "cloudflare:test";
import { expect, vi } from "vitest";
import { idFloor, newId } from "../../src/core/ids";
import type { AuditEvent } from "../../src/schemas/audit-event";

const BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * An event id whose time part is `ts`, as the producer makes them. (`newId` never goes back in
 * time within an isolate, so it would not do for events a test builds out of time order.)
 */
function eventIdAt(ts: string): string {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => BASE32[b & 31]).join("");
  return `${idFloor("evt", Date.parse(ts)).slice(0, 14)}${random}`;
}

export function auditEvent(fields: Partial<AuditEvent> = {}): AuditEvent {
  const ts = fields.ts ?? new Date().toISOString();
  return {
    id: eventIdAt(ts),
    ts,
    request_id: newId("req"),
    client_request_id: null,
    org_id: "org_TEST",
    project_id: null,
    key_id: null,
    key_prefix: null,
    caller: "api_key",
    outcome: "allowed",
    reason: null,
    status: 200,
    method: "GET",
    path: "/api/v1/site/pages",
    ip: "192.0.2.1",
    origin: null,
    country: "DE",
    colo: "FRA",
    user_agent: "test-agent/1.0",
    latency_ms: 3,
    required_scopes: ["content:read"],
    missing_scopes: [],
    action: null,
    target_id: null,
    changes: null,
    rate_limit_policy: null,
    mcp_method: null,
    mcp_name: null,
    ...fields,
  };
}

/** The stored audit row of a request, once the consumer has written it (waits up to 5 s). */
export async function eventRow(requestId: string | null): Promise<Record<string, unknown>> {
  let row: Record<string, unknown> | null = null;
  await vi.waitFor(
    async () => {
      row = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(requestId).first();
      expect(row).not.toBeNull();
    },
    { timeout: 5000, interval: 50 },
  );
  return row as unknown as Record<string, unknown>;
}
