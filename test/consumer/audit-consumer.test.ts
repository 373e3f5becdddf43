/**
 * SPEC §9: the audit consumer is idempotent on event ids, batches its D1 writes within D1's limits,
 * counts each event once in the rollups, archives every stored event in R2, moves `last_used_at`
 * only forward, and retries on failure so nothing is lost or doubled.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { packMessages } from "../../src/audit/producer";
import worker from "../../src/index";
import { archivedEvents, rollupTotals } from "../helpers/archive";
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
    const { archived, ...row } = (await env.DB.prepare("SELECT * FROM audit_events WHERE id = ?").bind(event.id).first<Record<string, unknown>>()) ?? {};
    expect({ ...row, required_scopes: JSON.parse(String(row.required_scopes)), missing_scopes: JSON.parse(String(row.missing_scopes)) }).toEqual(event);
    expect(archived).toBe(1);
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

  it("quarantines a malformed message whole in the archive, acks it, and stores the good ones beside it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = auditEvent();
    const poison = { nope: true, marker: crypto.randomUUID() };
    const result = await consume([poison, { events: [good] }]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("malformed audit events quarantined"));
    expect(await storedCount([good.id])).toBe(1);
    const listed = await env.AUDIT_ARCHIVE.list({ prefix: "rejected/" });
    const bodies = await Promise.all(listed.objects.map(async (o) => (await env.AUDIT_ARCHIVE.get(o.key))!.text()));
    expect(bodies.some((text) => text.includes(poison.marker))).toBe(true);
  });

  it("stores the events of a message body that is JSON text, as the producer sends them", async () => {
    const events = [auditEvent(), auditEvent()];
    const result = await consume([packMessages(events)[0]]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await storedCount(events.map((e) => e.id))).toBe(2);
  });

  it("quarantines a text body that is not JSON whole, and acks it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const marker = crypto.randomUUID();
    const result = await consume([`{"events":[${marker}`]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("malformed audit events quarantined"));
    const listed = await env.AUDIT_ARCHIVE.list({ prefix: "rejected/" });
    const bodies = await Promise.all(listed.objects.map(async (o) => (await env.AUDIT_ARCHIVE.get(o.key))!.text()));
    expect(bodies.some((text) => text.includes(marker))).toBe(true);
  });

  it("accepts a message body that is a bare array of events", async () => {
    const events = [auditEvent(), auditEvent()];
    const result = await consume([events]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await storedCount(events.map((e) => e.id))).toBe(2);
  });

  it("keeps the valid events of a message that also holds a malformed one", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const good = auditEvent();
    const bad = { ...auditEvent(), reason: "x".repeat(500) };
    await consume([{ events: [bad, good] }]);
    expect(await storedCount([good.id, bad.id])).toBe(1);
    expect(await storedCount([good.id])).toBe(1);
  });

  it("keeps last_used_at at 00:00:00.500Z when an event of 00:00:00Z arrives after it", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    await consume([{ events: [auditEvent({ key_id: key.id, ts: "2032-01-01T00:00:00.500Z" })] }]);
    await consume([{ events: [auditEvent({ key_id: key.id, ts: "2032-01-01T00:00:00Z" })] }]);
    expect(await lastUsed(key.id)).toBe("2032-01-01T00:00:00.500Z");
  });

  it("stores timestamps with milliseconds whatever precision the event had", async () => {
    const event = { ...auditEvent(), ts: "2032-01-02T03:04:05.1Z" };
    await consume([{ events: [event] }]);
    const row = await env.DB.prepare("SELECT ts FROM audit_events WHERE id = ?").bind(event.id).first<{ ts: string }>();
    expect(row?.ts).toBe("2032-01-02T03:04:05.100Z");
  });
});

describe("audit consumer within D1's limits", () => {
  /** D1's documented limits, which local D1 does not enforce: 100,000 bytes of SQL, 2,000,000 per value. */
  function enforceD1Limits() {
    const prepare = env.DB.prepare.bind(env.DB);
    const seen = { statements: 0, largestValue: 0 };
    vi.spyOn(env.DB, "prepare").mockImplementation((sql: string) => {
      if (new TextEncoder().encode(sql).byteLength > 100_000) throw new Error("D1_ERROR: statement too long");
      const statement = prepare(sql);
      const bind = statement.bind.bind(statement);
      statement.bind = (...values: unknown[]) => {
        for (const value of values) {
          const bytes = typeof value === "string" ? new TextEncoder().encode(value).byteLength : 0;
          seen.largestValue = Math.max(seen.largestValue, bytes);
          if (bytes > 2_000_000) throw new Error("D1_ERROR: string or blob too big: SQLITE_TOOBIG");
        }
        seen.statements++;
        return bind(...values);
      };
      return statement;
    });
    return seen;
  }

  it("stores 100 messages of large valid events (about 15 KB each, 12 MB in all) with no value over 2,000,000 bytes", async () => {
    const org = await createOrg();
    const large = () =>
      auditEvent({
        org_id: org,
        path: `/${"\u0007".repeat(2047)}`,
        user_agent: "ü".repeat(512),
        origin: `https://${"é".repeat(500)}`,
        client_request_id: "c".repeat(200),
      });
    const bodies = Array.from({ length: 100 }, () => ({ events: Array.from({ length: 8 }, large) }));
    expect(new TextEncoder().encode(JSON.stringify(bodies[0]!.events[0])).byteLength).toBeGreaterThan(14_000);
    const seen = enforceD1Limits();
    const result = await consume(bodies);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(100);
    expect(seen.largestValue).toBeLessThanOrEqual(2_000_000);
    const ids = bodies.flatMap((b) => b.events.map((e) => e.id));
    expect(await storedCount(ids)).toBe(800);
  });
});

describe("audit consumer rollups and archive", () => {
  it("counts a redelivered batch once in the minute and hour rollups", async () => {
    const org = await createOrg();
    const events = [
      auditEvent({ org_id: org, key_id: "key_R" }),
      auditEvent({ org_id: org, key_id: "key_R", outcome: "denied", reason: "insufficient_scope", status: 403 }),
      auditEvent({ org_id: org, key_id: "key_R", outcome: "would_deny", reason: "ip_not_allowed" }),
    ];
    const bodies = [{ events: events.slice(0, 2) }, { events: events.slice(2) }];
    await consume(bodies);
    await consume(bodies);
    await consume([{ events: [...events].reverse() }]);
    const totals = await rollupTotals(env.DB, org);
    expect(totals.minute).toEqual({ allowed: 1, denied: 1, would_deny: 1 });
    expect(totals.hour).toEqual({ allowed: 1, denied: 1, would_deny: 1 });
  });

  it("counts an event that appears twice in one batch once", async () => {
    const org = await createOrg();
    const event = auditEvent({ org_id: org });
    await consume([{ events: [event] }, { events: [event] }]);
    expect((await rollupTotals(env.DB, org)).minute).toEqual({ allowed: 1, denied: 0, would_deny: 0 });
  });

  it("records per key and day the scopes its requests that got through required", async () => {
    const org = await createOrg();
    await consume([
      {
        events: [
          auditEvent({ org_id: org, key_id: "key_S", required_scopes: ["content:read", "products:read"] }),
          auditEvent({ org_id: org, key_id: "key_S", required_scopes: ["content:read"], outcome: "would_deny", reason: "ip_not_allowed" }),
          auditEvent({ org_id: org, key_id: "key_S", required_scopes: ["stories:publish"], outcome: "denied", reason: "insufficient_scope" }),
        ],
      },
    ]);
    const { results } = await env.DB.prepare("SELECT scope, requests FROM audit_key_scopes WHERE key_id = 'key_S' ORDER BY scope").all();
    expect(results).toEqual([
      { scope: "content:read", requests: 2 },
      { scope: "products:read", requests: 1 },
    ]);
  });

  it("archives the stored events as gzip NDJSON under their date and hour, named after the batch's message ids", async () => {
    const events = [auditEvent({ ts: "2033-03-04T05:06:07.000Z" }), auditEvent({ ts: "2033-03-04T06:00:00.000Z" })];
    const batch = messages([{ events }]);
    await worker.queue(createMessageBatch("keygate-audit", batch), env);
    await worker.queue(createMessageBatch("keygate-audit", batch), env);
    const archived = (await archivedEvents(env.AUDIT_ARCHIVE, "events/dt=2033-03-04/")).filter((e) => events.some((x) => x.id === e.id));
    expect(archived.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    for (const event of archived) {
      expect(event.object).toMatch(new RegExp(`^events/dt=2033-03-04/hour=${event.ts.slice(11, 13)}/[0-9a-f]{32}\\.ndjson\\.gz$`));
    }
  });

  it("retries the batch when R2 is down, keeps D1's copy, and archives it on redelivery without counting it twice", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const org = await createOrg();
    const events = [auditEvent({ org_id: org }), auditEvent({ org_id: org })];
    const put = vi.spyOn(env.AUDIT_ARCHIVE, "put").mockRejectedValueOnce(new Error("R2 unavailable"));
    const failed = await consume([{ events }]);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toHaveLength(1);
    expect(await storedCount(events.map((e) => e.id))).toBe(2);
    put.mockRestore();
    const retried = await consume([{ events }], 2);
    expect(retried.explicitAcks).toHaveLength(1);
    const archived = (await archivedEvents(env.AUDIT_ARCHIVE)).filter((e) => e.org_id === org);
    expect(archived).toHaveLength(2);
    expect((await rollupTotals(env.DB, org)).minute).toEqual({ allowed: 2, denied: 0, would_deny: 0 });
  });
});
