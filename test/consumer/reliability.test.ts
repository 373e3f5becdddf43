/**
 * SPEC §9 reliability, inside workerd: 20,000 events through the real queue handler with injected
 * D1 and R2 failures (before and after the write took effect), duplicate deliveries, batches in
 * random order, retried messages regrouped into new batches, and a poison message among the good
 * ones. Afterwards D1, the R2 archive and the rollups each hold every event exactly once.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import type { AuditEvent } from "../../src/schemas/audit-event";
import { archivedEvents, rollupTotals } from "../helpers/archive";
import { auditEvent } from "../helpers/events";
import { createOrg } from "../helpers/worker";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A seeded PRNG (mulberry32), so a failing run can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pending {
  id: string;
  body: unknown;
  attempts: number;
}

const EVENTS = 20_000;
const EVENTS_PER_MESSAGE = 10;
const MESSAGES_PER_BATCH = 100;

describe("audit consumer under faults", () => {
  it("loses and doubles nothing: D1, the archive and the rollups agree on 20,000 events", { timeout: 30_000 }, async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const rng = random(12);
    const org = await createOrg("Reliability");
    const start = Date.parse("2034-05-06T07:00:00.000Z");
    const events: AuditEvent[] = Array.from({ length: EVENTS }, (_, i) =>
      auditEvent({
        org_id: org,
        key_id: `key_R${i % 7}`,
        ts: new Date(start + Math.floor(rng() * 3 * 3_600_000)).toISOString(),
        outcome: i % 10 === 0 ? "denied" : i % 10 === 1 ? "would_deny" : "allowed",
        reason: i % 10 === 0 ? "insufficient_scope" : i % 10 === 1 ? "ip_not_allowed" : null,
      }),
    );
    const pending: Pending[] = [];
    for (let i = 0; i < EVENTS; i += EVENTS_PER_MESSAGE) pending.push({ id: `rel-${i}`, body: { events: events.slice(i, i + EVENTS_PER_MESSAGE) }, attempts: 1 });
    const poison = { id: "rel-poison", body: { events: [{ id: "evt_not-an-event" }] }, attempts: 1 };
    pending.splice(Math.floor(pending.length / 2), 0, poison);

    const batch = env.DB.batch.bind(env.DB);
    const faults = { d1Before: 0, d1After: 0, r2Before: 0, r2After: 0, duplicates: 0, regrouped: 0 };
    vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
      const roll = rng();
      if (roll < 0.1) {
        faults.d1Before++;
        throw new Error("D1_ERROR: injected before the write");
      }
      const results = await batch(statements);
      if (roll < 0.15) {
        faults.d1After++;
        throw new Error("D1_ERROR: injected after the write (the answer was lost)");
      }
      return results;
    });
    const put = env.AUDIT_ARCHIVE.put.bind(env.AUDIT_ARCHIVE);
    vi.spyOn(env.AUDIT_ARCHIVE, "put").mockImplementation(async (...args: Parameters<R2Bucket["put"]>) => {
      const roll = rng();
      if (roll < 0.08) {
        faults.r2Before++;
        throw new Error("R2 injected failure before the write");
      }
      const stored = await put(...args);
      if (roll < 0.12) {
        faults.r2After++;
        throw new Error("R2 injected failure after the write");
      }
      return stored;
    });

    const acked = new Set<string>();
    let deliveries = 0;
    while (pending.length > 0 && deliveries < 1_000) {
      // Out of order: any pending messages may make up the next batch.
      for (let i = pending.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [pending[i], pending[j]] = [pending[j]!, pending[i]!];
      }
      const taken = pending.splice(0, MESSAGES_PER_BATCH);
      const messageBatch = createMessageBatch("keygate-audit", taken.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts, body: m.body })));
      const ctx = createExecutionContext();
      await worker.queue(messageBatch, env);
      const result = await getQueueResult(messageBatch, ctx);
      deliveries++;
      const retried = new Set(result.retryMessages.map((m) => m.msgId));
      for (const message of taken) {
        if (retried.has(message.id)) {
          faults.regrouped++;
          pending.push({ ...message, attempts: message.attempts + 1 });
        } else {
          expect(result.explicitAcks).toContain(message.id);
          acked.add(message.id);
          // At-least-once delivery: now and then an acknowledged message comes again.
          if (rng() < 0.05) {
            faults.duplicates++;
            pending.push({ ...message, attempts: 1 });
          }
        }
      }
    }
    vi.restoreAllMocks();
    expect(pending).toEqual([]);
    expect(acked.size).toBe(EVENTS / EVENTS_PER_MESSAGE + 1);
    for (const count of Object.values(faults)) expect(count).toBeGreaterThan(0);

    const ids = new Set(events.map((e) => e.id));
    const inD1 = await env.DB.prepare("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_events WHERE org_id = ?").bind(org).first<{ n: number; d: number }>();
    expect(inD1).toEqual({ n: EVENTS, d: EVENTS });

    const archived = (await archivedEvents(env.AUDIT_ARCHIVE, "events/dt=2034-05-06/")).filter((e) => e.org_id === org);
    const archivedIds = new Set(archived.map((e) => e.id));
    expect(archivedIds.size).toBe(EVENTS);
    expect([...archivedIds].every((id) => ids.has(id))).toBe(true);

    const expected = {
      allowed: events.filter((e) => e.outcome === "allowed").length,
      denied: events.filter((e) => e.outcome === "denied").length,
      would_deny: events.filter((e) => e.outcome === "would_deny").length,
    };
    expect(await rollupTotals(env.DB, org)).toEqual({ minute: expected, hour: expected });

    const quarantined = await env.AUDIT_ARCHIVE.list({ prefix: "rejected/" });
    const bodies = await Promise.all(quarantined.objects.map(async (o) => (await env.AUDIT_ARCHIVE.get(o.key))!.text()));
    expect(bodies.filter((text) => text.includes("rel-poison"))).toHaveLength(1);
    console.log(`reliability: ${EVENTS} events, ${deliveries} deliveries, faults ${JSON.stringify(faults)}, ${archived.length - archivedIds.size} archive lines repeated by regrouped redelivery`);
  });
});
