/**
 * @module
 * Sends audit events to the Queue off the response path. Events of one isolate are coalesced for a
 * few milliseconds into messages of up to ~120 KB (a Queue takes about 5,000 messages/s, so one
 * message per request would cap the gateway), and every request keeps its `waitUntil` until the
 * message holding its event is sent. A failed send, or one that does not settle within
 * {@link SEND_TIMEOUT_MS}, is retried; if the Queue stays unavailable the events go straight to D1
 * and the archive, and if D1 fails too they are logged whole (they hold no secrets), so Workers
 * Logs keeps them for replay. Audit never delays or fails a response.
 */
import type { Bindings } from "../env";
import type { AuditEvent } from "../schemas/audit-event";
import { archiveName } from "./archive";
import { storeAuditEvents } from "./store";

const COALESCE_MS = 5;
/** Queue messages may be 128 KB; leave room for the envelope. */
const MAX_MESSAGE_BYTES = 120_000;
/** sendBatch takes at most 256 KB in all: two full messages. */
const MAX_BATCH_MESSAGES = 2;
const encoder = new TextEncoder();
const SEND_BACKOFF_MS = [50, 250, 1000];
/**
 * A send that has not settled by then counts as failed. Four tries and the backoff stay near
 * 10 s, well inside the 30 s a request's `waitUntil` lasts after its response.
 */
export const SEND_TIMEOUT_MS = 2_000;

interface Batch {
  events: AuditEvent[];
  delivered: boolean;
}

/** How often a request whose event another request is sending checks whether it went out. */
const FOLLOWER_POLL_MS = 5;
/** waitUntil lasts 30 s after the response; a follower stops waiting before that. */
const FOLLOWER_MAX_WAIT_MS = 25_000;

const openBatches = new WeakMap<Bindings, Batch>();

/**
 * Queues `event` for delivery; the promise settles (never rejects) once it is stored somewhere.
 *
 * The request that opens a batch (the leader) waits the coalescing window and sends it. The
 * others (followers) wait with timers of their own until the batch is marked delivered: workerd
 * ties every promise to the request that created it, and settling or awaiting one across requests
 * gets continuations cancelled or I/O refused, so requests share only a plain flag.
 */
export function sendAuditEvent(env: Bindings, event: AuditEvent): Promise<void> {
  const open = openBatches.get(env);
  if (open) {
    open.events.push(event);
    return waitUntilDelivered(open);
  }
  const batch: Batch = { events: [event], delivered: false };
  openBatches.set(env, batch);
  return (async () => {
    await sleep(COALESCE_MS);
    openBatches.delete(env);
    await deliver(env, batch.events);
    batch.delivered = true;
  })();
}

async function waitUntilDelivered(batch: Batch): Promise<void> {
  for (let waited = 0; !batch.delivered && waited < FOLLOWER_MAX_WAIT_MS; waited += FOLLOWER_POLL_MS) {
    await sleep(FOLLOWER_POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends `events` to the Queue, else to D1 and the archive, else to the log. */
export async function deliver(env: Bindings, events: readonly AuditEvent[]): Promise<void> {
  const messages = packMessages(events);
  try {
    for (let i = 0; i < messages.length; i += MAX_BATCH_MESSAGES) {
      const batch = messages.slice(i, i + MAX_BATCH_MESSAGES).map((body) => ({ body: { events: body } }));
      await withRetries(() => withTimeout(env.AUDIT_QUEUE.sendBatch(batch), SEND_TIMEOUT_MS));
    }
    return;
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "audit queue unavailable, writing to D1", events: events.length, error: String(error) }));
  }
  try {
    await storeAuditEvents(env, events, await archiveName(events.map((event) => event.id)));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "audit events not stored, logged for replay", error: String(error), events }));
  }
}

/** Splits events into message bodies of at most {@link MAX_MESSAGE_BYTES} bytes of JSON. */
export function packMessages(events: readonly AuditEvent[]): AuditEvent[][] {
  const messages: AuditEvent[][] = [];
  let current: AuditEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = encoder.encode(JSON.stringify(event)).byteLength + 1;
    if (current.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      messages.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) messages.push(current);
  return messages;
}

/** `promise`, or a rejection once `ms` pass without it settling. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer = 0;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Queue send did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function withRetries(send: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await send();
      return;
    } catch (error) {
      const backoff = SEND_BACKOFF_MS[attempt];
      if (backoff === undefined) throw error;
      await sleep(backoff);
    }
  }
}
