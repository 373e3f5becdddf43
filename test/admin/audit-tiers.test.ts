/**
 * SPEC §9 storage tiers through `GET /_keygate/v1/audit`: a range older than the D1 hot window is
 * read from the R2 archive with the same filters, order and formats; a range spanning both tiers
 * has no duplicates and no gaps at the boundary, also while the consumer writes and the cron trims;
 * summaries, scopes and `requests_24h` read rollups, never raw events.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { archiveName, readArchive, type ArchiveProgress } from "../../src/audit/archive";
import { storeAuditEvents } from "../../src/audit/store";
import { pruneAuditLog } from "../../src/consumer/retention";
import { advanceHotFrom } from "../../src/db/audit";
import type { AuditEvent } from "../../src/schemas/audit-event";
import { auditEvent } from "../helpers/events";
import { admin, createKey, createOrg, json } from "../helpers/worker";

interface Page {
  data: AuditEvent[];
  next_cursor: string | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
let org: string;
let events: AuditEvent[];
/** The seeded events' range: admin calls add events of their own at today's time, after `until`. */
let range: string;

const newestFirst = (list: AuditEvent[]) => [...list].sort((a, b) => (a.id < b.id ? 1 : -1)).map((e) => e.id);

beforeAll(async () => {
  org = await createOrg("Tiered");
  // 12 days, one event every 5 hours: older ones in the archive only after the trim, newer in both.
  events = Array.from({ length: 58 }, (_, i) =>
    auditEvent({
      org_id: org,
      ts: new Date(now - 2 * HOUR - i * 5 * HOUR).toISOString(),
      key_id: i % 3 === 0 ? "key_T1" : "key_T2",
      outcome: i % 4 === 0 ? "denied" : "allowed",
      reason: i % 4 === 0 ? "insufficient_scope" : null,
      user_agent: i === 40 ? "=cmd|' /C calc'!A0" : "agent",
    }),
  );
  // As the consumer stores them: batches of 10, each under its own name.
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    await storeAuditEvents(env, batch, await archiveName(batch.map((e) => `m-${e.id}`)));
  }
  const pruned = await pruneAuditLog(env, now);
  expect(pruned.events).toBeGreaterThan(0);
  range = `&since=${new Date(now - 13 * DAY).toISOString()}&until=${new Date(now - HOUR).toISOString()}`;
});

async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await admin("GET", `/audit?org_id=${org}&limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    const page: Page = await json<Page>(res);
    ids.push(...page.data.map((e) => e.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor && pages < 200);
  return { ids, pages };
}

describe("GET /_keygate/v1/audit over both tiers", () => {
  it("keeps only the hot window in D1 after the trim, and every event in the archive", async () => {
    const inD1 = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND ts < ?").bind(org, new Date(now - HOUR).toISOString()).first<{ n: number }>();
    expect(inD1?.n).toBe(events.filter((e) => Date.parse(e.ts) >= now - 7 * DAY).length);
    expect(inD1?.n).toBeLessThan(events.length);
  });

  it("pages newest first across the hot/archive boundary without skipping or repeating", async () => {
    expect((await allPages(range, 7)).ids).toEqual(newestFirst(events));
  });

  it.each([
    ["key_id", "&key_id=key_T1", (e: AuditEvent) => e.key_id === "key_T1"],
    ["outcome", "&outcome=denied", (e: AuditEvent) => e.outcome === "denied"],
    ["reason", "&reason=insufficient_scope", (e: AuditEvent) => e.reason === "insufficient_scope"],
  ])("applies the %s filter in the archive as in D1", async (_, query, keep) => {
    expect((await allPages(query + range, 4)).ids).toEqual(newestFirst(events.filter(keep)));
  });

  it("reads a range entirely older than the hot window from the archive", async () => {
    const since = now - 11 * DAY;
    const until = now - 8 * DAY;
    const query = `&since=${new Date(since).toISOString()}&until=${new Date(until).toISOString()}`;
    const expected = events.filter((e) => Date.parse(e.ts) >= since && Date.parse(e.ts) < until);
    expect(expected.length).toBeGreaterThan(5);
    expect((await allPages(query, 5)).ids).toEqual(newestFirst(expected));
  });

  it("streams NDJSON and CSV across both tiers in the same order", async () => {
    const ndjson = await (await admin("GET", `/audit?org_id=${org}&format=ndjson${range}`)).text();
    const lines = ndjson.trim().split("\n").map((line) => JSON.parse(line) as AuditEvent);
    expect(lines.map((e) => e.id)).toEqual(newestFirst(events));
    expect(lines.find((e) => e.id === events[30]!.id)).toEqual(events[30]);
    const csv = await (await admin("GET", `/audit?org_id=${org}&format=csv${range}`)).text();
    const rows = csv.trim().split("\r\n");
    expect(rows).toHaveLength(events.length + 1);
    expect(csv).toContain(`"'=cmd|' /C calc'!A0"`);
  });

  it("answers an event archived twice (a regrouped redelivery) once", async () => {
    const own = await createOrg("Twice");
    const old = [auditEvent({ org_id: own, ts: new Date(now - 9 * DAY).toISOString() }), auditEvent({ org_id: own, ts: new Date(now - 9 * DAY + 1000).toISOString() })];
    await storeAuditEvents(env, old, await archiveName(["first-delivery"]));
    await storeAuditEvents(env, old.slice(1), await archiveName(["regrouped"]));
    const mine = await json<Page>(await admin("GET", `/audit?org_id=${own}&since=${new Date(now - 10 * DAY).toISOString()}&until=${new Date(now - 8 * DAY).toISOString()}`));
    expect(mine.data.map((e) => e.id)).toEqual(newestFirst(old));
  });

  it("pages a long archive range with a bounded number of R2 reads per request", async () => {
    const list = vi.spyOn(env.AUDIT_ARCHIVE, "list");
    const get = vi.spyOn(env.AUDIT_ARCHIVE, "get");
    const since = `&since=${new Date(now - 89 * DAY).toISOString()}&until=${new Date(now - HOUR).toISOString()}`;
    const perRequest: number[] = [];
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const before = list.mock.calls.length + get.mock.calls.length;
      const page: Page = await json<Page>(await admin("GET", `/audit?org_id=${org}&limit=1000${since}${cursor ? `&cursor=${cursor}` : ""}`));
      perRequest.push(list.mock.calls.length + get.mock.calls.length - before);
      ids.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    vi.restoreAllMocks();
    expect(ids).toEqual(newestFirst(events));
    expect(Math.max(...perRequest)).toBeLessThanOrEqual(200);
  });

  it("resumes an archive read that ran out of its R2 budget where it stopped, skipping and repeating nothing", async () => {
    const filter = { org_id: org, since: new Date(now - 13 * DAY).toISOString(), until: new Date(now - 7 * DAY).toISOString() };
    const expected = newestFirst(events.filter((e) => e.ts >= filter.since && e.ts < filter.until));
    const ids: string[] = [];
    let before: string | undefined;
    let reads = 0;
    for (; reads < 100; reads++) {
      const progress: ArchiveProgress = { budget: 5 };
      for await (const event of readArchive(env.AUDIT_ARCHIVE, filter, before, progress)) ids.push(event.id);
      if (progress.resumeBefore === undefined) break;
      before = progress.resumeBefore;
    }
    expect(reads).toBeGreaterThan(3);
    expect(ids).toEqual(expected);
  });

  it("neither skips nor repeats while the consumer writes and the cron moves the boundary between pages", async () => {
    const own = await createOrg("Moving");
    const spread = Array.from({ length: 20 }, (_, i) => auditEvent({ org_id: own, ts: new Date(now - 6 * DAY - i * HOUR).toISOString() }));
    await storeAuditEvents(env, spread, await archiveName(spread.map((e) => e.id)));
    const query = `/audit?org_id=${own}&limit=3&since=${new Date(now - 8 * DAY).toISOString()}&until=${new Date(now - HOUR).toISOString()}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const page: Page = await json<Page>(await admin("GET", `${query}${cursor ? `&cursor=${cursor}` : ""}`));
      seen.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
      // New traffic arrives, and the hot window's start passes the events already paged and more.
      const fresh = [auditEvent({ org_id: own, ts: new Date(now - 2 * HOUR + round * 1000).toISOString() })];
      await storeAuditEvents(env, fresh, await archiveName(fresh.map((e) => e.id)));
      await advanceHotFrom(env.DB, new Date(now - 6 * DAY - (20 - 2 * ++round) * HOUR).toISOString());
    } while (cursor && round < 30);
    expect(seen).toEqual(newestFirst(spread));
  });
});

describe("GET /_keygate/v1/audit/summary and key lists read rollups", () => {
  it("counts the archived range from the hourly rollups, with per-outcome counts", async () => {
    const body = await json<{ data: { unit: string; groups: { value: string; count: number; allowed: number; denied: number }[] } }>(
      await admin("GET", `/audit/summary?org_id=${org}&group_by=key${range}`),
    );
    expect(body.data.unit).toBe("hour");
    const count = (key: string, outcome?: string) => events.filter((e) => e.key_id === key && (!outcome || e.outcome === outcome)).length;
    expect(body.data.groups).toEqual([
      { value: "key_T2", count: count("key_T2"), allowed: count("key_T2", "allowed"), denied: count("key_T2", "denied"), would_deny: 0 },
      { value: "key_T1", count: count("key_T1"), allowed: count("key_T1", "allowed"), denied: count("key_T1", "denied"), would_deny: 0 },
    ]);
  });

  it("answers a time series per day in time order", async () => {
    const body = await json<{ data: { groups: { value: string; count: number }[] } }>(await admin("GET", `/audit/summary?org_id=${org}&group_by=day${range}`));
    const values = body.data.groups.map((g) => g.value);
    expect(values).toEqual([...values].sort());
    expect(body.data.groups.reduce((sum, g) => sum + g.count, 0)).toBe(events.length);
    expect(values[0]).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
  });

  it("still counts after the raw events are gone, so it never scans them", async () => {
    const own = await createOrg("Rollups only");
    const key = await createKey({ org_id: own, scopes: ["content:read"] });
    const recent = Array.from({ length: 5 }, (_, i) => auditEvent({ org_id: own, key_id: key.id, ts: new Date(now - 10 * 60_000 - i * 1000).toISOString() }));
    await storeAuditEvents(env, recent, await archiveName(recent.map((e) => e.id)));
    await env.DB.prepare("DELETE FROM audit_events WHERE org_id = ?").bind(own).run();
    const keys = await json<{ data: { id: string; requests_24h: number }[] }>(await admin("GET", `/keys?org_id=${own}`));
    expect(keys.data.find((k) => k.id === key.id)?.requests_24h).toBe(5);
    const summary = await json<{ data: { unit: string; groups: { value: string; count: number }[] } }>(
      await admin("GET", `/audit/summary?org_id=${own}&key_id=${key.id}&group_by=outcome&since=${new Date(now - HOUR).toISOString()}`),
    );
    expect(summary.data.unit).toBe("minute");
    expect(summary.data.groups.map(({ value, count }) => ({ value, count }))).toEqual([{ value: "allowed", count: 5 }]);
  });

  it("lists the scopes each key exercised in the last 30 days, for its own org only", async () => {
    const own = await createOrg("Least privilege");
    const used = [
      auditEvent({ org_id: own, key_id: "key_LP", required_scopes: ["content:read"], ts: new Date(now - 3 * DAY).toISOString() }),
      auditEvent({ org_id: own, key_id: "key_LP", required_scopes: ["content:read", "products:read"], ts: new Date(now - DAY).toISOString() }),
      auditEvent({ org_id: own, key_id: "key_LP", required_scopes: ["stories:read"], ts: new Date(now - 40 * DAY).toISOString() }),
    ];
    await storeAuditEvents(env, used, await archiveName(used.map((e) => e.id)));
    const body = await json<{ data: { key_id: string; scope: string; requests: number }[] }>(await admin("GET", `/audit/scopes?org_id=${own}&key_id=key_LP`));
    expect(body.data.map(({ scope, requests }) => ({ scope, requests }))).toEqual([
      { scope: "content:read", requests: 2 },
      { scope: "products:read", requests: 1 },
    ]);
    const reader = await createKey({ org_id: org, scopes: ["keygate:audit:read"] });
    const foreign = await json<{ data: unknown[] }>(await admin("GET", "/audit/scopes?key_id=key_LP", undefined, { authorization: `Bearer ${reader.key}` }));
    expect(foreign.data).toEqual([]);
  });
});

describe("audit filters beyond the indexed ones, over both tiers", () => {
  it("applies field and scope filters to archived events exactly as to D1's", async () => {
    const denied = events.filter((e) => e.outcome === "denied" && e.user_agent === "agent");
    const { ids } = await allPages(`&user_agent=agent&reason=insufficient_scope&required_scope=content:read${range}`, 7);
    expect(ids).toEqual(newestFirst(denied));
    expect((await allPages(`&missing_scope=content:write${range}`, 50)).ids).toEqual([]);
  });
});
