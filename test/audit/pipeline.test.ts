/**
 * SPEC §9 end to end: a request through the Worker becomes an audit row in D1 (producer, Queue,
 * consumer), and events still reach D1 when the Queue is down.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { COALESCE_MS, deliver, packMessages, SEND_TIMEOUT_MS, sendAuditEvent } from "../../src/audit/producer";
import type { AuditEvent } from "../../src/schemas/audit-event";
import { archivedEvents } from "../helpers/archive";
import { auditEvent, eventRow } from "../helpers/events";
import { admin, call, createKey, createOrg } from "../helpers/worker";

let org: string;
beforeAll(async () => {
  org = await createOrg();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});


describe("audit pipeline", () => {
  it("turns an allowed request into one audit row and moves last_used_at", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/site/pages?secret=1", {
      headers: { "x-api-key": key.key, "cf-connecting-ip": "192.0.2.9", "user-agent": "curl/8", "x-request-id": "client-7", origin: "https://x.test" },
    });
    expect(res.status).toBe(200);
    const row = await eventRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({
      org_id: org,
      key_id: key.id,
      key_prefix: key.key.slice(0, 12),
      caller: "api_key",
      outcome: "allowed",
      reason: null,
      status: 200,
      method: "GET",
      path: "/api/v1/site/pages",
      ip: "192.0.2.9",
      origin: "https://x.test",
      user_agent: "curl/8",
      client_request_id: "client-7",
      required_scopes: '["content:read"]',
    });
    expect(String(row.id)).toMatch(/^evt_/);
    await vi.waitFor(async () => {
      const used = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(key.id).first<{ last_used_at: string }>();
      expect(used?.last_used_at).toBe(row.ts);
    });
  });

  it("records the country and data centre from the edge's CF-IPCountry and CF-Ray, else from request.cf", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const cf = { country: "US", colo: "SJC" };
    const send = (headers: Record<string, string>) => call("/api/v1/site/pages", { headers: { "x-api-key": key.key, ...headers }, cf } as RequestInit);
    const edge = await send({ "cf-ipcountry": "DE", "cf-ray": "8f2b1c3d4e5f6a7b-FRA" });
    expect(await eventRow(edge.headers.get("x-request-id"))).toMatchObject({ country: "DE", colo: "FRA" });
    const noHeaders = await send({});
    expect(await eventRow(noHeaders.headers.get("x-request-id"))).toMatchObject({ country: "US", colo: "SJC" });
    const rayWithoutColo = await send({ "cf-ray": "8f2b1c3d4e5f6a7b" });
    expect(await eventRow(rayWithoutColo.headers.get("x-request-id"))).toMatchObject({ country: "US", colo: "SJC" });
  });

  it("records denials with their reason and missing scopes, and never the raw key", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/products", { headers: { authorization: `Bearer ${key.key}` } });
    expect(res.status).toBe(403);
    const row = await eventRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({ outcome: "denied", reason: "insufficient_scope", status: 403, missing_scopes: '["products:read"]', caller: "api_key" });
    expect(JSON.stringify(row)).not.toContain(key.key);
  });

  it("records report-mode violations as would_deny", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], allowed_ips: ["10.0.0.0/8"], restrictions_mode: "report" });
    const res = await call("/api/v1/site/pages", { headers: { "x-api-key": key.key, "cf-connecting-ip": "192.0.2.1" } });
    expect(res.status).toBe(200);
    expect(await eventRow(res.headers.get("x-request-id"))).toMatchObject({ outcome: "would_deny", reason: "ip_not_allowed" });
  });

  it("records the deciding credential and key prefix only for well-formed keys", async () => {
    const garbage = await call("/api/v1/site/pages", { headers: { "x-api-key": "kg_live_short" } });
    expect(await eventRow(garbage.headers.get("x-request-id"))).toMatchObject({ caller: "api_key", key_prefix: null, reason: "invalid api key" });
    const oauth = await call("/api/v1/site/pages", { headers: { authorization: "Bearer opaque" } });
    expect(await eventRow(oauth.headers.get("x-request-id"))).toMatchObject({ caller: "oauth", reason: "invalid token" });
    const none = await call("/nowhere");
    expect(await eventRow(none.headers.get("x-request-id"))).toMatchObject({ caller: null, outcome: "denied", reason: "no route", status: 404 });
  });

  it("records admin changes with action and target", async () => {
    const res = await admin("POST", "/keys", { org_id: org, name: "audited", scopes: ["content:read"] });
    const created = ((await res.json()) as { data: { id: string } }).data;
    expect(await eventRow(res.headers.get("x-request-id"))).toMatchObject({ action: "key.create", target_id: created.id, org_id: org, caller: "admin", outcome: "allowed" });
    const revoked = await admin("DELETE", `/keys/${created.id}`);
    expect(await eventRow(revoked.headers.get("x-request-id"))).toMatchObject({ action: "key.revoke", target_id: created.id });
  });

  it("records what each admin change changed, before and after, and never a secret", async () => {
    const res = await admin("POST", "/keys", { org_id: org, name: "changed", scopes: ["content:read", "stories:read"] });
    const created = ((await res.json()) as { data: { id: string; key: string } }).data;
    const changesOf = async (response: Response) => {
      const row = await eventRow(response.headers.get("x-request-id"));
      expect(JSON.stringify(row)).not.toContain(created.key);
      return JSON.parse(String(row.changes));
    };
    expect(await changesOf(res)).toMatchObject({ name: [null, "changed"], scopes: [null, ["content:read", "stories:read"]] });
    const patched = await admin("PATCH", `/keys/${created.id}`, { name: "renamed", scopes: ["content:read"] });
    expect(await changesOf(patched)).toEqual({ name: ["changed", "renamed"], scopes: [["content:read", "stories:read"], ["content:read"]] });
    const rotated = await admin("POST", `/keys/${created.id}/rotate`, { grace_seconds: 60 });
    const successor = ((await rotated.clone().json()) as { data: { id: string; key: string } }).data;
    const rotation = await changesOf(rotated);
    expect(rotation).toMatchObject({ rotated_to: [null, successor.id], expires_at: [null, expect.any(String)] });
    expect(JSON.stringify(rotation)).not.toContain(successor.key);
    const revoked = await admin("DELETE", `/keys/${successor.id}`);
    expect(await changesOf(revoked)).toEqual({ revoked_at: [null, expect.any(String)] });
  });

  it("records report-mode violations of admin reads, and refused reads", async () => {
    const reader = await createKey({ org_id: org, scopes: ["keygate:keys:read"], allowed_ips: ["10.0.0.0/8"], restrictions_mode: "report" });
    const res = await admin("GET", "/keys", undefined, { authorization: `Bearer ${reader.key}`, "cf-connecting-ip": "192.0.2.1" });
    expect(res.status).toBe(200);
    expect(await eventRow(res.headers.get("x-request-id"))).toMatchObject({ outcome: "would_deny", reason: "ip_not_allowed", key_id: reader.id });
    const missing = await admin("GET", "/keys/key_missing");
    expect(await eventRow(missing.headers.get("x-request-id"))).toMatchObject({ outcome: "denied", status: 404 });
  });

  it("writes events straight to D1 when the Queue stays unavailable", async () => {
    vi.spyOn(env.AUDIT_QUEUE, "sendBatch").mockRejectedValue(new Error("Queue send failed"));
    vi.spyOn(console, "error").mockImplementation(() => {});
    const event = auditEvent({ org_id: org });
    await deliver(env, [event]);
    const row = await env.DB.prepare("SELECT id FROM audit_events WHERE id = ?").bind(event.id).first();
    expect(row).toEqual({ id: event.id });
    expect(env.AUDIT_QUEUE.sendBatch).toHaveBeenCalledTimes(4);
  });

  it("bounds a Queue send that never settles, retries it, then writes the events to D1 and the archive", async () => {
    vi.useFakeTimers();
    const send = vi.spyOn(env.AUDIT_QUEUE, "sendBatch").mockReturnValue(new Promise(() => {}));
    vi.spyOn(console, "error").mockImplementation(() => {});
    const event = auditEvent({ org_id: org });
    const delivered = deliver(env, [event]);
    await vi.advanceTimersByTimeAsync(4 * SEND_TIMEOUT_MS + 2_000);
    vi.useRealTimers();
    await delivered;
    expect(send).toHaveBeenCalledTimes(4);
    expect(await env.DB.prepare("SELECT id FROM audit_events WHERE id = ?").bind(event.id).first()).toEqual({ id: event.id });
    expect((await archivedEvents(env.AUDIT_ARCHIVE)).map((e) => e.id)).toContain(event.id);
  });

  it("logs events whole (no secrets in them) when both the Queue and D1 fail", async () => {
    vi.spyOn(env.AUDIT_QUEUE, "sendBatch").mockRejectedValue(new Error("Queue send failed"));
    vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("D1 down"));
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const event = auditEvent({ org_id: org });
    await deliver(env, [event]);
    expect(log.mock.calls.some(([line]) => String(line).includes(event.id))).toBe(true);
  });

  it("packs coalesced events into messages of at most 120 KB of UTF-8, multi-byte agents included", () => {
    const events = Array.from({ length: 600 }, (_, i) => auditEvent({ user_agent: (i % 2 ? "ü" : "a").repeat(500), path: `/p/${"é".repeat(1000)}` }));
    const messages = packMessages(events);
    expect(messages.flatMap((message) => (JSON.parse(message) as { events: unknown[] }).events)).toEqual(events);
    for (const message of messages) expect(new TextEncoder().encode(message).byteLength).toBeLessThanOrEqual(120_000);
    expect(messages.length).toBeGreaterThan(1);
  });

  it("fills ASCII messages up to 120 KB, and no further", () => {
    const events = Array.from({ length: 400 }, () => auditEvent({ user_agent: "a".repeat(500) }));
    const messages = packMessages(events);
    const sizes = messages.map((message) => new TextEncoder().encode(message).byteLength);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(120_000);
    const eventBytes = JSON.stringify(events[0]).length + 1;
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(120_000 - eventBytes - 100);
  });

  it("coalesces concurrent events into one Queue send, and settles each event's promise only once that send is done", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const send = vi.spyOn(env.AUDIT_QUEUE, "sendBatch").mockImplementation(() => released as never);
    const events = [auditEvent({ org_id: org }), auditEvent({ org_id: org }), auditEvent({ org_id: org })];
    let settled = 0;
    const pending = events.map((event) => sendAuditEvent(env, event).then(() => void settled++));
    await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 100));
    expect(send).toHaveBeenCalledTimes(1);
    expect(settled).toBe(0);
    release();
    await Promise.all(pending);
    expect(settled).toBe(3);
    expect(JSON.parse((send.mock.calls[0]![0] as { body: string }[])[0]!.body)).toEqual({ events });
  });

  // Each request runs in its own request context. Had the leader settled promises the followers
  // created, workerd would refuse it as I/O on behalf of another request (RefcountedFulfiller) and
  // cancel the followers as hung.
  it("sends the events of concurrent requests, each in its own request context, in fewer Queue calls, and no request hangs", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const send = vi.spyOn(env.AUDIT_QUEUE, "sendBatch");
    const responses = await Promise.all(Array.from({ length: 12 }, () => call("/api/v1/site/pages", { headers: { "x-api-key": key.key } })));
    const rows = await Promise.all(responses.map((res) => eventRow(res.headers.get("x-request-id"))));
    expect(rows.map((row) => row.key_id)).toEqual(Array(12).fill(key.id));
    const sentEvents = send.mock.calls.flatMap(([messages]) => [...messages].flatMap(({ body }) => (JSON.parse(String(body)) as { events: AuditEvent[] }).events));
    expect(sentEvents.filter((event) => event.key_id === key.id)).toHaveLength(12);
    expect(send.mock.calls.length).toBeLessThan(12);
  });

  it("hands the Queue each message as JSON text, so the request path serializes its events once", async () => {
    const send = vi.spyOn(env.AUDIT_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
    const events = [auditEvent({ org_id: org }), auditEvent({ org_id: org })];
    await deliver(env, events);
    expect(send).toHaveBeenCalledTimes(1);
    const [batch] = send.mock.calls[0]!;
    expect(batch).toEqual([{ body: expect.any(String), contentType: "text" }]);
    expect(JSON.parse((batch as { body: string }[])[0]!.body)).toEqual({ events });
  });
});
