/**
 * @module
 * The audit event of SPEC §9: one schema for the producer, the queue message and the consumer.
 */
import { z } from "zod";

export const AuditEventSchema = z.object({
  id: z.string(),
  ts: z.string(),
});

export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** A queue message carries one or more events (coalesced per isolate). */
export const AuditMessageSchema = z.object({ events: z.array(AuditEventSchema).min(1) });
export type AuditMessage = z.infer<typeof AuditMessageSchema>;
