/**
 * SPEC §8/§9 `GET /_keygate/v1/audit`: filters, cursor pages that neither skip nor repeat while new
 * events arrive, streamed NDJSON/CSV exports that parse back, the summary, and retention.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { writeEvents } from "../../src/audit/store";
import { pruneAuditLog } from "../../src/consumer/retention";
import { readArchive } from "../../src/audit/archive";
import { advanceHotFrom, readHotFrom } from "../../src/db/audit";
import type { AuditEvent } from "../../src/schemas/audit-event";
import { auditEvent } from "../helpers/events";
import { admin, createKey, createOrg, createProject, json } from "../helpers/worker";

interface Page {
  data: AuditEvent[];
  next_cursor: string | null;
}

let org: string;
let events: AuditEvent[];
const base = Date.parse("2030-06-01T00:00:00.000Z");
/** The seeded events' day: admin calls in these tests add events of their own, at today's date. */
const seeded = "&since=2030-06-01T00:00:00Z&until=2030-06-02T00:00:00Z";

beforeAll(async () => {
  org = await createOrg("Audited");
  events = Array.from({ length: 30 }, (_, i) =>
    auditEvent({
      org_id: org,
      ts: new Date(base + i * 60_000).toISOString(),
      key_id: i % 3 === 0 ? "key_A" : "key_B",
      project_id: i % 2 === 0 ? "p1" : null,
      outcome: i % 5 === 0 ? "denied" : "allowed",
      reason: i % 5 === 0 ? "insufficient_scope" : null,
      path: i % 4 === 0 ? "/api/v1/products" : "/api/v1/site/pages",
      user_agent: i === 7 ? 'Mozilla "quoted", with comma\nand newline' : i === 8 ? "=HYPERLINK(\"x\")" : "agent",
    }),
  );
  await writeEvents(env, events);
});

async function allPages(query: string, limit: number): Promise<AuditEvent[]> {
  const seen: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    const res = await admin("GET", `/audit?org_id=${org}&limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    const page: Page = await json<Page>(res);
    seen.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return seen;
}

const newestFirst = (list: AuditEvent[]) => [...list].sort((a, b) => (a.id < b.id ? 1 : -1)).map((e) => e.id);

describe("GET /_keygate/v1/audit", () => {
  it("pages newest first without skipping or repeating", async () => {
    expect((await allPages(seeded, 7)).map((e) => e.id)).toEqual(newestFirst(events));
  });

  it.each([
    ["key_id", "&key_id=key_A", (e: AuditEvent) => e.key_id === "key_A"],
    ["project_id", "&project_id=p1", (e: AuditEvent) => e.project_id === "p1"],
    ["outcome", "&outcome=denied", (e: AuditEvent) => e.outcome === "denied"],
    ["reason", "&reason=insufficient_scope", (e: AuditEvent) => e.reason === "insufficient_scope"],
    ["since/until", `&since=${new Date(base + 5 * 60_000).toISOString()}&until=${new Date(base + 9 * 60_000).toISOString()}`, (e: AuditEvent) => Date.parse(e.ts) >= base + 5 * 60_000 && Date.parse(e.ts) < base + 9 * 60_000],
  ])("filters by %s", async (_, query, keep) => {
    const window = query.includes("since") ? "" : seeded;
    expect((await allPages(query + window, 4)).map((e) => e.id)).toEqual(newestFirst(events.filter(keep)));
  });

  it("finds one request by request_id", async () => {
    const target = events[4]!;
    const page = await json<Page>(await admin("GET", `/audit?org_id=${org}&request_id=${target.request_id}`));
    expect(page.data.map((e) => e.id)).toEqual([target.id]);
  });

  it("neither skips nor repeats rows while new events arrive between pages", async () => {
    const own = await createOrg("Busy");
    const initial = Array.from({ length: 10 }, (_, i) => auditEvent({ org_id: own, ts: new Date(base + i * 1000).toISOString() }));
    await writeEvents(env, initial);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const page: Page = await json<Page>(await admin("GET", `/audit?org_id=${own}&limit=3${seeded}${cursor ? `&cursor=${cursor}` : ""}`));
      seen.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
      await writeEvents(env, [auditEvent({ org_id: own, ts: new Date(base + 100_000 + round++ * 1000).toISOString() })]);
    } while (cursor);
    expect(seen).toEqual(newestFirst(initial));
  });

  it("rejects bad filters with 400", async () => {
    for (const query of ["outcome=maybe", "since=yesterday", "format=xml", "limit=0"]) {
      expect((await admin("GET", `/audit?${query}`)).status, query).toBe(400);
    }
  });

  it("shows an org admin key only its own org, and a bound key only its project", async () => {
    const reader = await createKey({ org_id: org, scopes: ["keygate:audit:read"] });
    const auth = { authorization: `Bearer ${reader.key}` };
    const own = await json<Page>(await admin("GET", "/audit?limit=1000", undefined, auth));
    expect(own.data.every((e) => e.org_id === org)).toBe(true);
    const other = await createOrg("Other");
    expect((await admin("GET", `/audit?org_id=${other}`, undefined, auth)).status).toBe(404);

    await createProject(org, "p1");
    const bound = await createKey({ org_id: org, scopes: ["keygate:audit:read"], project_id: "p1" });
    const scoped = await json<Page>(await admin("GET", "/audit?limit=1000", undefined, { authorization: `Bearer ${bound.key}` }));
    expect(scoped.data.length).toBeGreaterThan(0);
    expect(scoped.data.every((e) => e.project_id === "p1")).toBe(true);

    const writer = await createKey({ org_id: org, scopes: ["keygate:keys:write"] });
    expect((await admin("GET", "/audit", undefined, { authorization: `Bearer ${writer.key}` })).status).toBe(403);
  });
});

describe("audit exports", () => {
  it("streams NDJSON that parses back to the same events", async () => {
    const res = await admin("GET", `/audit?org_id=${org}&format=ndjson${seeded}`);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((line) => JSON.parse(line) as AuditEvent);
    expect(lines).toEqual(newestFirst(events).map((id) => events.find((e) => e.id === id)));
  });

  it("streams CSV with RFC 4180 quoting and formula-safe cells", async () => {
    const res = await admin("GET", `/audit?org_id=${org}&format=csv${seeded}`);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const rows = parseCsv(await res.text());
    const header = rows[0]!;
    const byId = new Map(rows.slice(1).map((row) => [row[header.indexOf("id")], row]));
    expect(byId.size).toBe(events.length);
    const ua = header.indexOf("user_agent");
    expect(byId.get(events[7]!.id)?.[ua]).toBe('Mozilla "quoted", with comma\nand newline');
    expect(byId.get(events[8]!.id)?.[ua]).toBe("'=HYPERLINK(\"x\")");
  });

  it("quotes every cell, empty ones included, and neutralises formulas after ; tab and CR too", async () => {
    const own = await createOrg("Formulas");
    const risky = auditEvent({ org_id: own, ts: new Date(base).toISOString(), user_agent: "ok;=1+1;@SUM(A1)", origin: "x\t+cmd", client_request_id: "a\r-2", reason: null });
    await writeEvents(env, [risky]);
    const text = await (await admin("GET", `/audit?org_id=${own}&format=csv${seeded}`)).text();
    const [header, line] = text.split("\r\n");
    expect(header!.split(",").every((cell) => /^"[a-z_]+"$/.test(cell))).toBe(true);
    const row = parseCsv(`${line}\r\n`)[0]!;
    const cell = (name: string) => row[header!.split(",").indexOf(`"${name}"`)];
    expect(cell("user_agent")).toBe("ok;'=1+1;'@SUM(A1)");
    expect(cell("origin")).toBe("x\t'+cmd");
    expect(cell("client_request_id")).toBe("a\r'-2");
    expect(line).toContain(',"",');
    expect(line!.split(/,(?=")/).every((cell) => cell.startsWith('"'))).toBe(true);
  });

  it("exports more rows than one page without holding them in one query", async () => {
    const own = await createOrg("Large");
    const many = Array.from({ length: 2500 }, (_, i) => auditEvent({ org_id: own, ts: new Date(base + i).toISOString() }));
    await writeEvents(env, many);
    const text = await (await admin("GET", `/audit?org_id=${own}&format=ndjson${seeded}`)).text();
    expect(text.trim().split("\n")).toHaveLength(2500);
  });
});

describe("GET /_keygate/v1/audit/summary", () => {
  it("counts events per group", async () => {
    const res = await admin("GET", `/audit/summary?org_id=${org}&group_by=outcome${seeded}`);
    const body = await json<{ data: { groups: { value: string; count: number }[] } }>(res);
    expect(body.data.groups.map(({ value, count }) => ({ value, count }))).toEqual([
      { value: "allowed", count: 24 },
      { value: "denied", count: 6 },
    ]);
    const byKey = await json<{ data: { groups: { value: string; count: number }[] } }>(await admin("GET", `/audit/summary?org_id=${org}&group_by=key${seeded}`));
    expect(byKey.data.groups).toEqual([
      { value: "key_B", count: 20, allowed: 16, denied: 4, would_deny: 0 },
      { value: "key_A", count: 10, allowed: 8, denied: 2, would_deny: 0 },
    ]);
  });

  it("counts only the outcome asked for, and rejects filters rollups cannot answer", async () => {
    const body = await json<{ data: { groups: { value: string; count: number }[] } }>(await admin("GET", `/audit/summary?org_id=${org}&group_by=key&outcome=denied${seeded}`));
    expect(body.data.groups.map(({ value, count }) => ({ value, count }))).toEqual([
      { value: "key_B", count: 4 },
      { value: "key_A", count: 2 },
    ]);
    expect((await admin("GET", `/audit/summary?org_id=${org}&group_by=path`)).status).toBe(400);
  });
});

describe("GET /_keygate/v1/audit/summary without since", () => {
  it("covers the last 7 days only", async () => {
    const own = await createOrg("Window");
    const now = Date.now();
    await writeEvents(env, [
      auditEvent({ org_id: own, key_id: "key_window", ts: new Date(now - 8 * 86_400_000).toISOString() }),
      auditEvent({ org_id: own, key_id: "key_window", ts: new Date(now - 60_000).toISOString() }),
    ]);
    const query = `org_id=${own}&key_id=key_window&group_by=outcome`;
    const body = await json<{ data: { groups: { value: string; count: number }[] } }>(await admin("GET", `/audit/summary?${query}`));
    expect(body.data.groups.map(({ value, count }) => ({ value, count }))).toEqual([{ value: "allowed", count: 1 }]);
  });
});

describe("retention", () => {
  it("trims D1 to AUDIT_HOT_DAYS, moving the hot window's start first, and keeps the rest", async () => {
    const own = await createOrg("Old");
    const now = Date.parse("2031-01-01T00:00:00.000Z");
    const old = auditEvent({ org_id: own, ts: new Date(now - 8 * 86_400_000).toISOString() });
    const recent = auditEvent({ org_id: own, ts: new Date(now - 6 * 86_400_000).toISOString() });
    await writeEvents(env, [old, recent]);
    const result = await pruneAuditLog({ ...env, AUDIT_HOT_DAYS: "7" }, now);
    expect(result.events).toBeGreaterThanOrEqual(1);
    expect(result.hotFrom).toBe(new Date(now - 7 * 86_400_000).toISOString());
    expect(await readHotFrom(env.DB)).toBe(result.hotFrom);
    // Only the two seeded events: the org's own creation event may land in D1 at any time.
    const left = await env.DB.prepare("SELECT id FROM audit_events WHERE id IN (?, ?)").bind(old.id, recent.id).all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([recent.id]);
  });

  it("shrinks the hot window to whole hours when more than AUDIT_HOT_MAX_EVENTS arrived in it", async () => {
    const own = await createOrg("Busy hours");
    const now = Date.parse("2032-01-01T00:30:00.000Z");
    const hourly = Array.from({ length: 6 }, (_, h) => Array.from({ length: 4 }, (_, i) => auditEvent({ org_id: own, ts: new Date(now - h * 3_600_000 - i * 1000).toISOString() }))).flat();
    await writeEvents(env, hourly);
    const result = await pruneAuditLog({ ...env, AUDIT_HOT_DAYS: "7", AUDIT_HOT_MAX_EVENTS: "10" }, now);
    // 4 events in each of the newest hours: two hours fit in 10, the third does not.
    expect(result.hotFrom).toBe("2031-12-31T23:00:00.000Z");
    const left = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE org_id = ?").bind(own).first<{ n: number }>();
    expect(left?.n).toBe(8);
  });

  it("never moves the hot window's start back", async () => {
    await advanceHotFrom(env.DB, "2040-01-01T00:00:00.000Z");
    await advanceHotFrom(env.DB, "2039-01-01T00:00:00.000Z");
    expect(await readHotFrom(env.DB)).toBe("2040-01-01T00:00:00.000Z");
    await env.DB.prepare("DELETE FROM audit_tier_state").run();
  });
});

/** A small RFC 4180 parser, independent of the exporter. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  return rows;
}

describe("upgrade to the archive", () => {
  it("archives events stored before the archive existed before trimming them, so the API still finds them", async () => {
    const own = await createOrg("Before archive");
    const now = Date.parse("2033-01-01T00:00:00.000Z");
    const legacy = auditEvent({ org_id: own, ts: new Date(now - 10 * 86_400_000).toISOString() });
    await writeEvents(env, [legacy]);
    // As the consumer before this version stored it: no archive copy.
    await env.DB.prepare("UPDATE audit_events SET archived = NULL WHERE id = ?").bind(legacy.id).run();
    const result = await pruneAuditLog({ ...env, AUDIT_HOT_DAYS: "7" }, now);
    expect(result.backfilled).toBeGreaterThanOrEqual(1);
    expect(await env.DB.prepare("SELECT id FROM audit_events WHERE id = ?").bind(legacy.id).first()).toBeNull();
    const found: string[] = [];
    for await (const event of readArchive(env.AUDIT_ARCHIVE, { org_id: own, since: new Date(now - 11 * 86_400_000).toISOString(), until: new Date(now - 9 * 86_400_000).toISOString() }, undefined, { budget: 100 })) {
      found.push(event.id);
    }
    expect(found).toEqual([legacy.id]);
    await env.DB.prepare("DELETE FROM audit_tier_state").run();
  });
});
