/**
 * @module
 * The audit queue consumer. Per message batch: one D1 batch (one transaction) stores every new
 * event (`INSERT OR IGNORE`, idempotent on the event id), counts it in the rollups and moves each
 * used key's `last_used_at` forward; then the events go to the R2 archive under a name derived from
 * the batch's message ids. Only then are the messages acknowledged: a D1 or R2 failure retries the
 * whole batch with backoff, and the retry adds nothing twice. After `max_retries` the Queue moves
 * the batch to the dead-letter queue, which this same handler consumes with a longer backoff, so no
 * event is dropped while D1 or R2 is down.
 *
 * A message body is `{ events: [...] }`, a bare array of events, or one event, either as is or as
 * JSON text (the producer sends `{ events }` as text, so the request path never serializes events
 * twice). What does not parse as events cannot be fixed by a retry: it is kept whole in the archive
 * under `rejected/` (quarantine), and the valid events beside it are stored.
 */
import { archiveName, quarantine } from "../audit/archive";
import { storeAuditEvents } from "../audit/store";
import type { Bindings } from "../env";
import { AuditEventSchema, type AuditEvent } from "../schemas/audit-event";

const BASE_DELAY_S = 5;
const MAX_DELAY_S = 12 * 60 * 60;

export async function consumeAuditBatch(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const events: AuditEvent[] = [];
  const rejects: { id: string; items: unknown[] }[] = [];
  for (const message of batch.messages) {
    const { stored, rejected } = eventsOf(message.body);
    events.push(...stored);
    if (rejected.length > 0) rejects.push({ id: message.id, items: rejected });
  }
  try {
    await storeAuditEvents(env, events, await archiveName(batch.messages.map((message) => message.id)));
    for (const reject of rejects) {
      const key = await quarantine(env.AUDIT_ARCHIVE, reject.id, reject.items);
      console.error(JSON.stringify({ level: "error", msg: "malformed audit events quarantined", id: reject.id, count: reject.items.length, key }));
    }
  } catch (error) {
    const attempts = Math.max(...batch.messages.map((message) => message.attempts));
    const delaySeconds = Math.min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempts - 1));
    console.error(JSON.stringify({ level: "error", msg: "audit batch not stored, retrying", queue: batch.queue, events: events.length, delaySeconds, error: String(error) }));
    for (const message of batch.messages) message.retry({ delaySeconds });
    return;
  }
  for (const message of batch.messages) message.ack();
}

/** The valid events of a message body (`{ events }`, an array, or one event), each checked on its own. */
function eventsOf(message: unknown): { stored: AuditEvent[]; rejected: unknown[] } {
  const body = typeof message === "string" ? parseJson(message) : message;
  const list = Array.isArray(body) ? body : isEnvelope(body) ? body.events : [body];
  const stored: AuditEvent[] = [];
  const rejected: unknown[] = [];
  for (const item of list as unknown[]) {
    const parsed = AuditEventSchema.safeParse(item);
    if (parsed.success) stored.push(parsed.data);
    else rejected.push(item);
  }
  return { stored, rejected };
}

/** The JSON value of `text`, or `text` itself when it is not JSON (then rejected whole, as text). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isEnvelope(body: unknown): body is { events: unknown[] } {
  return typeof body === "object" && body !== null && "events" in body && Array.isArray(body.events);
}
