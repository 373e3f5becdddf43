/**
 * @module
 * Sends audit events to the Queue off the response path. Events of one isolate are coalesced for a
 * few milliseconds into messages of up to ~120 KB (a Queue takes about 5,000 messages/s, so one
 * message per request would cap the gateway), and every request keeps its `waitUntil` until the
 * message holding its event is sent. A message is JSON text: each event is stringified once, that
 * text is both what the size limit counts and what the Queue carries, so the request path never
 * has the Queue serialize the events again (the consumer parses them, off the request path).
 * A failed send, or one that does not settle within {@link SEND_TIMEOUT_MS}, is retried; if the
 * Queue stays unavailable the events go straight to D1 and the archive, and if D1 fails too they
 * are logged whole (they hold no secrets), so Workers Logs keeps them for replay. Audit never delays or fails a response.
 */
import type { Bindings } from "../env";
import type { AuditEvent } from "../schemas/audit-event";
import { archiveName } from "./archive";
import { storeAuditEvents } from "./store";
import { wait } from "../core/wait";

/**
 * How long a batch stays open. Each send is one Queue call, whose cost on the request path is
 * fixed (one subrequest) whatever the batch holds; a busy isolate shares it among the requests of
 * the window. Events reach the Queue this much later, no response waits for it.
 */
export const COALESCE_MS = 20;
/** Queue messages may be 128 KB; leave room for the envelope. */
const MAX_MESSAGE_BYTES = 120_000;
/** sendBatch takes at most 256 KB in all: two full messages. */
const MAX_BATCH_MESSAGES = 2;
const encoder = new TextEncoder();
const NON_ASCII = /[^\x00-\x7f]/;
const ENVELOPE_START = '{"events":[';
const ENVELOPE_END = "]}";
const SEND_BACKOFF_MS = [50, 250, 1000];
/**
 * A send that has not settled by then counts as failed. Four tries and the backoff stay near
 * 10 s, well inside the 30 s a request's `waitUntil` lasts after its response.
 */
export const SEND_TIMEOUT_MS = 2_000;

interface Batch {
  events: AuditEvent[];
  delivered: boolean;
  /** When the leader sends it (`Date.now()` time). */
  sendAt: number;
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
  const batch: Batch = { events: [event], delivered: false, sendAt: Date.now() + COALESCE_MS };
  openBatches.set(env, batch);
  return (async () => {
    await wait(COALESCE_MS);
    openBatches.delete(env);
    await deliver(env, batch.events);
    batch.delivered = true;
  })();
}

/** Nothing goes out before the leader sends: a follower first wakes just after that, then polls. */
async function waitUntilDelivered(batch: Batch): Promise<void> {
  let waited = Math.max(0, batch.sendAt - Date.now()) + FOLLOWER_POLL_MS;
  await wait(waited);
  for (; !batch.delivered && waited < FOLLOWER_MAX_WAIT_MS; waited += FOLLOWER_POLL_MS) {
    await wait(FOLLOWER_POLL_MS);
  }
}

/** The failure path's waits (rare), on the timers tests can fake. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends `events` to the Queue, else to D1 and the archive, else to the log. */
export async function deliver(env: Bindings, events: readonly AuditEvent[]): Promise<void> {
  const messages = packMessages(events);
  try {
    for (let i = 0; i < messages.length; i += MAX_BATCH_MESSAGES) {
      const batch = messages.slice(i, i + MAX_BATCH_MESSAGES).map((body) => ({ body, contentType: "text" as const }));
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

/**
 * Packs events into message bodies: JSON text `{"events":[…]}` (the consumer's envelope) of at most
 * {@link MAX_MESSAGE_BYTES} bytes of UTF-8 each.
 */
export function packMessages(events: readonly AuditEvent[]): string[] {
  const messages: string[] = [];
  let current: string[] = [];
  let bytes = ENVELOPE_START.length + ENVELOPE_END.length;
  for (const event of events) {
    const json = JSON.stringify(event);
    const size = utf8Length(json) + 1;
    if (current.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      messages.push(envelope(current));
      current = [];
      bytes = ENVELOPE_START.length + ENVELOPE_END.length;
    }
    current.push(json);
    bytes += size;
  }
  if (current.length > 0) messages.push(envelope(current));
  return messages;
}

function envelope(eventsJson: readonly string[]): string {
  return ENVELOPE_START + eventsJson.join(",") + ENVELOPE_END;
}

/** UTF-8 bytes of `text`: its length when it is ASCII, as audit events nearly always are. */
function utf8Length(text: string): number {
  return NON_ASCII.test(text) ? encoder.encode(text).byteLength : text.length;
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
