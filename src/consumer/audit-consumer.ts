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
import { AuditEventSchema, type AuditEvent } from "../schemas/audit-event";

const BASE_DELAY_S = 5;
const MAX_DELAY_S = 12 * 60 * 60;

export async function consumeAuditBatch(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const events: AuditEvent[] = [];
  const valid: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const { stored, rejected } = eventsOf(message.body);
    if (rejected.length > 0) {
      // Retrying cannot fix a malformed event; log it whole so nothing is lost, keep the rest.
      console.error(JSON.stringify({ level: "error", msg: "malformed audit events dropped", id: message.id, rejected }));
    }
    if (stored.length === 0) {
      message.ack();
      continue;
    }
    events.push(...stored);
    valid.push(message);
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



/** The valid events of a message body `{ events: [...] }`, each checked on its own. */
function eventsOf(body: unknown): { stored: AuditEvent[]; rejected: unknown[] } {
  const list = typeof body === "object" && body !== null && "events" in body && Array.isArray(body.events) ? body.events : [body];
  const stored: AuditEvent[] = [];
  const rejected: unknown[] = [];
  for (const item of list as unknown[]) {
    const parsed = AuditEventSchema.safeParse(item);
    if (parsed.success) stored.push(parsed.data);
    else rejected.push(item);
  }
  return { stored, rejected };
}
