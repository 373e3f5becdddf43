/**
 * @module
 * Storing audit events in both tiers: D1 (the hot window and the rollups, one transaction) and
 * the R2 archive. D1 goes first and is idempotent, so when R2 fails the caller retries the whole
 * batch: D1 adds nothing the second time and R2 rewrites the same objects.
 */
import { auditDb, auditSharesKeyDb } from "../db/audit-db";
import { touchKeysStatements, writeEventsStatements } from "../db/audit";
import type { Bindings } from "../env";
import type { AuditEvent } from "../schemas/audit-event";
import { writeArchive } from "./archive";

/** Stores `events` in D1: audit rows and rollups, and `last_used_at` of the keys they used. */
export async function writeEvents(env: Pick<Bindings, "DB" | "AUDIT_DB">, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const db = auditDb(env);
  const statements = writeEventsStatements(db, events);
  if (auditSharesKeyDb(env)) {
    await db.batch([...statements, ...touchKeysStatements(db, events)]);
    return;
  }
  await db.batch(statements);
  // Another database: its own batch, after the events are safe. Forward-only, so a retry is harmless.
  const touch = touchKeysStatements(env.DB, events);
  if (touch.length > 0) await env.DB.batch(touch);
}

/** Stores `events` in D1, then in the archive under `archiveName`; rejects if either fails. */
export async function storeAuditEvents(env: Bindings, events: readonly AuditEvent[], archiveName: string): Promise<void> {
  if (events.length === 0) return;
  await writeEvents(env, events);
  await writeArchive(env.AUDIT_ARCHIVE, archiveName, events);
}
