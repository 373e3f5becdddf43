/**
 * SPEC §9 `AUDIT_DB`: with the binding, the audit tables (events, rollups) live in their own D1
 * database and `DB` keeps only `last_used_at`; both tiers are read from there.
 */
import { applyD1Migrations, createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/audit/query";
import { consumeAuditBatch } from "../../src/consumer/audit-consumer";
import { auditDb } from "../../src/db/audit-db";
import { rollupTotals } from "../helpers/archive";
import { auditEvent } from "../helpers/events";
import { createKey, createOrg } from "../helpers/worker";

const split = { ...env, AUDIT_DB: env.AUDIT_DB_SPLIT };

beforeAll(async () => {
  await applyD1Migrations(env.AUDIT_DB_SPLIT, env.TEST_MIGRATIONS);
});

describe("AUDIT_DB", () => {
  it("is where every audit statement goes when bound, and DB otherwise", () => {
    expect(auditDb(split)).toBe(env.AUDIT_DB_SPLIT);
    expect(auditDb(env)).toBe(env.DB);
  });

  it("stores events and rollups in AUDIT_DB, moves last_used_at in DB, and reads them back from there", async () => {
    const org = await createOrg("Split");
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const events = [auditEvent({ org_id: org, key_id: key.id, ts: new Date(Date.now() - 60_000).toISOString() }), auditEvent({ org_id: org, key_id: key.id })];
    const batch = createMessageBatch("keygate-audit", [{ id: "split-1", timestamp: new Date(), attempts: 1, body: { events } }]);
    await consumeAuditBatch(batch, split);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual(["split-1"]);

    const count = async (db: D1Database) => (await db.prepare("SELECT count(*) AS n FROM audit_events WHERE org_id = ?").bind(org).first<{ n: number }>())?.n;
    expect(await count(env.AUDIT_DB_SPLIT)).toBe(2);
    expect(await count(env.DB)).toBe(0);
    expect((await rollupTotals(env.AUDIT_DB_SPLIT, org)).minute?.allowed).toBe(2);
    expect((await rollupTotals(env.DB, org)).minute?.allowed).toBe(0);
    const used = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(key.id).first<{ last_used_at: string }>();
    expect(used?.last_used_at).toBe(events[1]!.ts);

    const read: string[] = [];
    for await (const event of auditEvents(split, { org_id: org }, undefined, { budget: 50 })) read.push(event.id);
    expect(read).toEqual([events[1]!.id, events[0]!.id]);
  });
});
