/**
 * @module
 * The audit queue consumer: one D1 batch (one transaction) per message batch stores every event
 * (`INSERT OR IGNORE`, idempotent on the event id, so a redelivered message adds nothing) and moves
 * each used key's `last_used_at` forward. A D1 failure retries the whole batch with backoff; after
 * `max_retries` the Queue moves it to the dead-letter queue, which this same handler consumes with
 * a longer backoff, so no event is dropped while D1 is down.
 */
import { writeEvents } from "../db/audit";
import type { Bindings } from "../env";
import { AuditMessageSchema, type AuditEvent } from "../schemas/audit-event";

const BASE_DELAY_S = 5;
const MAX_DELAY_S = 12 * 60 * 60;

export async function consumeAuditBatch(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const events: AuditEvent[] = [];
  const valid: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const parsed = AuditMessageSchema.safeParse(message.body);
    if (parsed.success) {
      events.push(...parsed.data.events);
      valid.push(message);
    } else {
      // Retrying cannot fix a malformed body; log it whole so nothing is lost, then drop it.
      console.error(JSON.stringify({ level: "error", msg: "malformed audit message dropped", id: message.id, body: message.body }));
      message.ack();
    }
  }
  if (valid.length === 0) return;
  try {
    await writeEvents(env.DB, events);
    for (const message of valid) message.ack();
  } catch (error) {
    const attempts = Math.max(...valid.map((message) => message.attempts));
    const delaySeconds = Math.min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempts - 1));
    console.error(JSON.stringify({ level: "error", msg: "audit batch not written, retrying", queue: batch.queue, events: events.length, delaySeconds, error: String(error) }));
    for (const message of valid) message.retry({ delaySeconds });
  }
}


