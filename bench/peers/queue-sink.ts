/**
 * @module
 * Bench-only stand-in for Keygate's audit Queue: a JS RPC entrypoint whose `send`/`sendBatch`
 * accept and drop the messages. Bound as `AUDIT_QUEUE` in one Keygate instance, it measures what
 * audit costs on the request path (building, coalescing, packing and handing events over) without
 * the local queue broker and consumer, which in production run elsewhere.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

export class QueueSink extends WorkerEntrypoint {
  async send(_body: unknown): Promise<void> {}
  async sendBatch(messages: readonly unknown[]): Promise<{ accepted: number }> {
    return { accepted: messages.length };
  }
}

export default {
  fetch(): Response {
    return new Response("queue sink", { status: 404 });
  },
} satisfies ExportedHandler;
