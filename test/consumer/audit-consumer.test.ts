/**
 * SPEC §9: the audit consumer is idempotent on event ids, batches its D1 writes, moves
 * `last_used_at` only forward, and retries on failure so nothing is lost or doubled.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { auditEvent } from "../helpers/events";
import { createKey, createOrg } from "../helpers/worker";
import type { AuditEvent } from "../../src/schemas/audit-event";

afterEach(() => {
  vi.restoreAllMocks();
});

let sequence = 0;
function messages(bodies: unknown[], attempts = 1) {
  return bodies.map((body) => ({ id: `msg-${++sequence}`, timestamp: new Date(), attempts, body }));
}

async function consume(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch("keygate-audit", messages(bodies, attempts));
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function storedCount(ids: string[]): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(ids))
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function lastUsed(keyId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(keyId).first<{ last_used_at: string | null }>();
  return row?.last_used_at ?? null;
}

describe("audit consumer", () => {
  it("stores a message delivered twice exactly once and acks both deliveries", async () => {
    const events = [auditEvent(), auditEvent()];
    const first = await consume([{ events }]);
    const second = await consume([{ events }]);
    expect(first.explicitAcks).toHaveLength(1);
    expect(second.explicitAcks).toHaveLength(1);
    expect(await storedCount(events.map((e) => e.id))).toBe(2);
  });

  it("round-trips every field of an event", async () => {
    const event = auditEvent({ missing_scopes: ["a:b"], reason: "insufficient_scope", outcome: "denied", status: 403, user_agent: 'a "quoted", agent' });
    await consume([{ events: [event] }]);
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE id = ?").bind(event.id).first<Record<string, unknown>>();
    expect({ ...row, required_scopes: JSON.parse(String(row?.required_scopes)), missing_scopes: JSON.parse(String(row?.missing_scopes)) }).toEqual(event);
  });

  it("never moves last_used_at backwards when events arrive out of order", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const newer = auditEvent({ key_id: key.id, ts: "2030-01-02T00:00:00.000Z" });
    const older = auditEvent({ key_id: key.id, ts: "2030-01-01T00:00:00.000Z" });
    await consume([{ events: [newer] }]);
    await consume([{ events: [older] }]);
    expect(await lastUsed(key.id)).toBe(newer.ts);
  });

  it("moves last_used_at for allowed and would_deny events only", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    await consume([{ events: [auditEvent({ key_id: key.id, outcome: "denied", ts: "2031-01-01T00:00:00.000Z" })] }]);
    expect(await lastUsed(key.id)).toBeNull();
    await consume([{ events: [auditEvent({ key_id: key.id, outcome: "would_deny", ts: "2031-01-02T00:00:00.000Z" })] }]);
    expect(await lastUsed(key.id)).toBe("2031-01-02T00:00:00.000Z");
  });

  it("retries the whole batch with backoff when D1 fails, and loses nothing on redelivery", async () => {
    const events = [auditEvent(), auditEvent()];
    vi.spyOn(env.DB, "batch").mockRejectedValueOnce(new Error("D1_ERROR: storage operation exceeded timeout"));
    const batch = createMessageBatch("keygate-audit", messages([{ events: events.slice(0, 1) }, { events: events.slice(1) }], 3));
    const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const failed = await getQueueResult(batch, ctx);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toHaveLength(2);
    for (const retry of retries) expect(retry).toHaveBeenCalledWith({ delaySeconds: 20 });
    expect(await storedCount(events.map((e) => e.id))).toBe(0);

    const retried = await consume([{ events: events.slice(0, 1) }, { events: events.slice(1) }], 4);
    expect(retried.explicitAcks).toHaveLength(2);
    expect(await storedCount(events.map((e) => e.id))).toBe(2);
  });

  it("writes 100 messages of events for 100 distinct keys in one D1 batch", async () => {
    const org = await createOrg();
    const keys = await Promise.all(Array.from({ length: 100 }, () => createKey({ org_id: org, scopes: ["content:read"] })));
    const bodies = keys.map((key) => ({ events: [auditEvent({ key_id: key.id, org_id: org })] }));
    const batchSpy = vi.spyOn(env.DB, "batch");
    const result = await consume(bodies);
    expect(result.explicitAcks).toHaveLength(100);
    expect(batchSpy).toHaveBeenCalledTimes(1);
    const events = bodies.flatMap((b) => b.events as AuditEvent[]);
    expect(await storedCount(events.map((e) => e.id))).toBe(100);
    const touched = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE org_id = ? AND last_used_at IS NOT NULL").bind(org).first<{ n: number }>();
    expect(touched?.n).toBe(100);
  });

  it("logs and acks a malformed message instead of retrying it forever", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = auditEvent();
    const result = await consume([{ nope: true }, { events: [good] }]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("malformed audit events dropped"));
    expect(await storedCount([good.id])).toBe(1);
  });

  it("keeps the valid events of a message that also holds a malformed one", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const good = auditEvent();
    const bad = { ...auditEvent(), reason: "x".repeat(500) };
    await consume([{ events: [bad, good] }]);
    expect(await storedCount([good.id, bad.id])).toBe(1);
    expect(await storedCount([good.id])).toBe(1);
  });
});
