/**
 * @module
 * Bench-only Worker for the audit consumer's write rate into local D1 and the R2 archive. Never
 * deployed; it runs in its own Miniflare instance with a fresh D1 that has `migrations/*.sql`
 * applied and a fresh local R2 bucket.
 *
 * - `POST /setup?keys=K`: one org and K API keys (Keygate's own `insertOrg`, `insertKey`), so the
 *   consumer's `last_used_at` update has rows to move.
 * - `POST /prepare?events=N`: builds N valid audit events (fresh ids, key ids spread over the K
 *   keys) and holds them in the isolate for the next `/run`. Building is kept out of the timed call.
 * - `POST /run?mode=batched|single`: writes the prepared events.
 *   - `batched`: the real queue handler, `consumeAuditBatch` from src/consumer/audit-consumer.ts,
 *     driven with fake message batches of 100 messages of one event each (the shape the gateway's
 *     queue delivers with `max_batch_size = 100`), one batch after the other. Each batch is one
 *     D1 batch: the events' INSERT through `json_each` plus the `last_used_at` update.
 *   - `single`: the naive baseline, one `INSERT INTO audit_events (…) VALUES (?, …)` per event with
 *     the same columns, awaited one by one (no `last_used_at` update).
 *   Answers the Worker-side elapsed ms (workerd's clock moves on every awaited D1 call, so it
 *   spans first write to last write), the rows added (checked), D1's `size_after` before and
 *   after, for stored bytes per event, and the bytes the run added to the archive.
 */
import { packMessages } from "../../src/audit/producer";
import { consumeAuditBatch } from "../../src/consumer/audit-consumer";
import { insertKey } from "../../src/db/keys";
import { insertOrg } from "../../src/db/orgs";
import type { Bindings } from "../../src/env";
import { generateApiKey, hashApiKey, keyPrefix } from "../../src/core/api-key";
import { newId } from "../../src/core/ids";
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from "../../src/schemas/audit-event";

const MAX_EVENTS = 100_000;
const MAX_KEYS = 1_000;
const MESSAGES_PER_BATCH = 100;

interface BenchKey {
  id: string;
  prefix: string;
}

let org: string | undefined;
let keys: BenchKey[] = [];
let pending: AuditEvent[] = [];

function fail(status: number, message: string): Response {
  return new Response(message, { status });
}

async function setup(env: Bindings, count: number): Promise<Response> {
  const now = new Date().toISOString();
  org = (await insertOrg(env.DB, { id: newId("org"), name: "bench consumer", created_at: now })).id;
  keys = [];
  for (let i = 0; i < count; i++) {
    const raw = generateApiKey("live");
    const id = newId("key");
    await insertKey(env.DB, {
      hash: await hashApiKey(raw),
      record: {
        id,
        org_id: org,
        project_id: null,
        name: `bench consumer key ${i}`,
        key_prefix: keyPrefix(raw),
        scopes: ["stories:read"],
        preset: null,
        allowed_ips: [],
        allowed_origins: [],
        restrictions_mode: "enforce",
        not_before: null,
        expires_at: null,
        last_used_at: null,
        created_at: now,
        revoked_at: null,
        rotated_from: null,
        rotated_to: null,
        rotation_root_id: id,
        rate_limits: [],
        quota: null,
      },
    });
    keys.push({ id, prefix: keyPrefix(raw) });
  }
  return Response.json({ org, keys: keys.length });
}

/** A gateway request's event, as the producer builds it: mostly allowed, some denied and would_deny. */
function gatewayEvent(i: number, ts: string, now: number): AuditEvent {
  const key = keys[i % keys.length]!;
  // Per key, 18 in 20 allowed, 1 denied (missing scope), 1 would_deny (report-only IP rule).
  const kind = Math.floor(i / keys.length) % 20;
  const outcome = kind === 19 ? "denied" : kind === 18 ? "would_deny" : "allowed";
  return {
    id: newId("evt", now),
    ts,
    request_id: newId("req", now),
    client_request_id: i % 4 === 0 ? `client-${i.toString(36)}` : null,
    org_id: org!,
    project_id: "origin",
    key_id: key.id,
    key_prefix: key.prefix,
    caller: "api_key",
    outcome,
    reason: outcome === "denied" ? "insufficient_scope" : outcome === "would_deny" ? "ip_not_allowed" : null,
    status: outcome === "denied" ? 403 : 200,
    method: "GET",
    path: `/api/v1/stories/${(i % 5000).toString(36)}`,
    ip: `198.51.100.${i % 250}`,
    origin: i % 3 === 0 ? "https://app.example.com" : null,
    country: "DE",
    colo: "FRA",
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    latency_ms: 2 + (i % 40),
    required_scopes: ["stories:read"],
    missing_scopes: outcome === "denied" ? ["stories:read"] : [],
    action: null,
    target_id: null,
    changes: null,
    rate_limit_policy: null,
    mcp_method: null,
    mcp_name: null,
  };
}

function prepare(count: number): Response {
  if (!org || keys.length === 0) return fail(409, "POST /setup first");
  const now = Date.now();
  const ts = new Date(now).toISOString();
  pending = Array.from({ length: count }, (_, i) => gatewayEvent(i, ts, now));
  return Response.json({ events: pending.length, bytesJson: JSON.stringify(pending).length });
}

/** A MessageBatch as the Queues runtime hands it to the consumer, counting acks and retries. */
function fakeBatch(events: readonly AuditEvent[]) {
  const counts = { acked: 0, retried: 0 };
  const timestamp = new Date();
  const messages = events.map((event) => ({
    // Fresh per event: the archive names objects after the message ids, so reused ids would
    // rewrite earlier runs' objects instead of adding to the archive.
    id: `msg-${event.id}`,
    timestamp,
    // What the producer sends for one event: its JSON text envelope.
    body: packMessages([event])[0],
    attempts: 1,
    ack: () => void counts.acked++,
    retry: () => void counts.retried++,
  }));
  const batch = {
    queue: "keygate-audit",
    messages,
    ackAll: () => void (counts.acked += messages.length),
    retryAll: () => void (counts.retried += messages.length),
  };
  return { batch: batch as unknown as MessageBatch<unknown>, counts };
}

const INSERT_ONE = `INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS.join(", ")}) VALUES (${AUDIT_EVENT_COLUMNS.map(() => "?").join(", ")})`;

async function writeSingle(env: Bindings, events: readonly AuditEvent[]): Promise<void> {
  const statement = env.DB.prepare(INSERT_ONE);
  for (const event of events) {
    const values = AUDIT_EVENT_COLUMNS.map((column) => {
      const value = event[column];
      return Array.isArray(value) ? JSON.stringify(value) : value;
    });
    await statement.bind(...values).run();
  }
}

async function writeBatched(env: Bindings, events: readonly AuditEvent[]): Promise<string | null> {
  for (let i = 0; i < events.length; i += MESSAGES_PER_BATCH) {
    const slice = events.slice(i, i + MESSAGES_PER_BATCH);
    const { batch, counts } = fakeBatch(slice);
    await consumeAuditBatch(batch, env);
    if (counts.acked !== slice.length || counts.retried !== 0) {
      return `batch at ${i}: ${counts.acked} acked, ${counts.retried} retried of ${slice.length} (see the workerd log)`;
    }
  }
  return null;
}

async function sizeNow(env: Bindings): Promise<number | null> {
  const result = await env.DB.prepare("SELECT 1").run();
  return typeof result.meta.size_after === "number" ? result.meta.size_after : null;
}

/** Bytes of every object in the archive (gzip NDJSON as stored). */
async function archiveBytes(env: Bindings): Promise<number> {
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await env.AUDIT_ARCHIVE.list({ prefix: "events/", cursor });
    for (const object of page.objects) bytes += object.size;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return bytes;
}

async function countRows(env: Bindings): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events").first<{ n: number }>();
  return row?.n ?? 0;
}

async function run(env: Bindings, mode: string): Promise<Response> {
  if (mode !== "batched" && mode !== "single") return fail(400, "mode must be batched or single");
  if (pending.length === 0) return fail(409, "POST /prepare first");
  const events = pending;
  pending = [];
  const rowsBefore = await countRows(env);
  const sizeBefore = await sizeNow(env);
  const archiveBefore = await archiveBytes(env);
  // The clock stands still during JavaScript and moves on I/O: the reading after the size query
  // is the moment it answered, and the reading after the last write is when that write answered.
  const started = Date.now();
  const problem = mode === "batched" ? await writeBatched(env, events) : (await writeSingle(env, events), null);
  const elapsedMs = Date.now() - started;
  if (problem) return fail(500, problem);
  const sizeAfter = await sizeNow(env);
  const archived = (await archiveBytes(env)) - archiveBefore;
  const rowsAdded = (await countRows(env)) - rowsBefore;
  if (rowsAdded !== events.length) return fail(500, `${mode}: ${rowsAdded} rows added for ${events.length} events`);
  const touched = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE org_id = ? AND last_used_at IS NOT NULL").bind(org!).first<{ n: number }>();
  return Response.json({ mode, events: events.length, elapsedMs, rowsAdded, sizeBefore, sizeAfter, archiveBytes: archived, keysTouched: touched?.n ?? 0 });
}

export default {
  async fetch(request: Request, env: Bindings): Promise<Response> {
    if (request.method !== "POST") return fail(405, "POST only");
    const url = new URL(request.url);
    const number = (name: string, max: number, fallback: number) => {
      const n = Number(url.searchParams.get(name) ?? fallback);
      return Number.isInteger(n) && n >= 1 && n <= max ? n : null;
    };
    if (url.pathname === "/setup") {
      const count = number("keys", MAX_KEYS, 100);
      return count === null ? fail(400, `keys must be 1..${MAX_KEYS}`) : setup(env, count);
    }
    if (url.pathname === "/prepare") {
      const count = number("events", MAX_EVENTS, 1000);
      return count === null ? fail(400, `events must be 1..${MAX_EVENTS}`) : prepare(count);
    }
    if (url.pathname === "/run") return run(env, url.searchParams.get("mode") ?? "");
    return fail(404, "POST /setup?keys=K, /prepare?events=N, /run?mode=batched|single");
  },
} satisfies ExportedHandler<Bindings>;
