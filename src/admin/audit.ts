/**
 * @module
 * `/_keygate/v1/audit`: the audit log over both tiers (the D1 hot window, then the R2 archive),
 * newest first, with filters, cursor pages and streamed NDJSON/CSV exports; `/audit/summary`
 * counts events from the rollups (never the raw events) per key, project, reason, outcome or time
 * bucket; `/audit/scopes` lists the scopes each key's requests exercised (least privilege);
 * `/audit/series` counts per time bucket and key from the rollups (the console's sparklines).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { ArchiveProgress } from "../audit/archive";
import { auditEvents, completeOrFail, take } from "../audit/query";
import { auditDb } from "../db/audit-db";
import type { AuditFilter } from "../db/audit";
import { exercisedScopes, MINUTE_ROLLUP_DAYS, ROLLUP_GROUPS, summarizeRollups, type RollupGroup } from "../db/audit-rollups";
import { keySeries } from "../db/audit-key-series";
import type { CallerEnv } from "../http/context";
import { requireScopes } from "../checks/require-scopes";
import { ADMIN_ACTIONS, CALLERS, OUTCOMES } from "../schemas/audit-event";
import { KeyIdListSchema, OrgIdSchema, ProjectIdSchema, TimestampSchema } from "../schemas/key";
import { actingOrg, actingProject } from "./actor";
import { exportStream } from "./audit-export";
import { readQuery } from "../http/input";
import { encodeCursor, page, PageQuerySchema } from "./pagination";

const DAY_MS = 86_400_000;
const SUMMARY_LIMIT = 1000;
/** Without `since`, a summary covers the last 7 days and the scope list the last 30. */
const DEFAULT_SUMMARY_WINDOW_MS = 7 * DAY_MS;
const DEFAULT_SCOPES_WINDOW_MS = 30 * DAY_MS;
/**
 * R2 operations one request may spend on the archive (Workers allow 1,000 subrequests): a json page
 * that runs out answers what it has and a cursor that continues where it stopped.
 */
const PAGE_ARCHIVE_BUDGET = 200;
const EXPORT_ARCHIVE_BUDGET = 900;

export const AuditFilterSchema = z.object({
  org_id: OrgIdSchema.optional(),
  project_id: ProjectIdSchema.optional(),
  key_id: z.string().max(64).optional(),
  request_id: z.string().max(64).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  reason: z.string().max(200).optional(),
  client_request_id: z.string().max(200).optional(),
  key_prefix: z.string().max(12).optional(),
  caller: z.enum(CALLERS).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  method: z.string().max(16).optional(),
  path: z.string().max(2048).optional(),
  ip: z.string().max(64).optional(),
  origin: z.string().max(512).optional(),
  country: z.string().max(8).optional(),
  colo: z.string().max(8).optional(),
  user_agent: z.string().max(512).optional(),
  action: z.enum(ADMIN_ACTIONS).optional(),
  target_id: z.string().max(64).optional(),
  required_scope: z.string().max(200).optional(),
  missing_scope: z.string().max(200).optional(),
  since: TimestampSchema.optional(),
  until: TimestampSchema.optional(),
});

export const AuditQuerySchema = PageQuerySchema.extend(AuditFilterSchema.shape).extend({
  format: z.enum(["json", "ndjson", "csv"]).default("json"),
});

/** The rollups count by org, project, key, reason and outcome only, so only those filter a summary. */
const RollupFilterSchema = AuditFilterSchema.pick({ org_id: true, project_id: true, key_id: true, outcome: true, reason: true, since: true, until: true });
export const SummaryQuerySchema = RollupFilterSchema.extend({ group_by: z.enum(ROLLUP_GROUPS) });
export const ScopesQuerySchema = AuditFilterSchema.pick({ org_id: true, project_id: true, key_id: true, since: true });

/** Hourly counts per key over the last 24 hours unless `since` says otherwise. */
export const SeriesQuerySchema = RollupFilterSchema.pick({ org_id: true, project_id: true, since: true }).extend({
  key_ids: KeyIdListSchema,
});

const CONTENT_TYPES = { ndjson: "application/x-ndjson; charset=utf-8", csv: "text/csv; charset=utf-8" };

export const audit = new Hono<CallerEnv>();

audit.use(requireScopes(["keygate:audit:read"]));

audit.get("/", async (c) => {
  const { format, limit, cursor, ...query } = readQuery(c, AuditQuerySchema);
  const filter: AuditFilter = { ...query, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  if (format === "json") {
    const progress: ArchiveProgress = { budget: PAGE_ARCHIVE_BUDGET };
    const rows = await take(auditEvents(c.env, filter, cursor, progress), limit + 1);
    if (rows.length <= limit && progress.resumeBefore !== undefined) {
      return c.json({ ok: true, data: rows, next_cursor: encodeCursor(progress.resumeBefore) });
    }
    return c.json({ ok: true, ...page(rows, limit, (row) => row.id) });
  }
  const progress: ArchiveProgress = { budget: EXPORT_ARCHIVE_BUDGET };
  const body = exportStream(format, completeOrFail(auditEvents(c.env, filter, cursor, progress), progress));
  return c.body(body, 200, {
    "content-type": CONTENT_TYPES[format],
    "content-disposition": `attachment; filename="keygate-audit.${format}"`,
  });
});

audit.get("/summary", async (c) => {
  const { group_by, outcome, ...query } = readQuery(c, SummaryQuerySchema);
  const now = Date.now();
  const since = query.since ?? new Date(now - DEFAULT_SUMMARY_WINDOW_MS).toISOString();
  const filter = { ...query, since, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  const unit = rollupUnit(group_by, since, now);
  const groups = await summarizeRollups(auditDb(c.env), filter, group_by, { unit, outcome, limit: SUMMARY_LIMIT });
  return c.json({ ok: true, data: { group_by, unit, since, until: query.until ?? null, groups } });
});

audit.get("/scopes", async (c) => {
  const query = readQuery(c, ScopesQuerySchema);
  const since = query.since ?? new Date(Date.now() - DEFAULT_SCOPES_WINDOW_MS).toISOString();
  const filter = { ...query, since, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  const data = await exercisedScopes(auditDb(c.env), filter, SUMMARY_LIMIT);
  return c.json({ ok: true, data });
});

/** Minute rollups while they cover the range (they are kept 3 days), else hourly ones. */
function rollupUnit(groupBy: RollupGroup, since: string, now: number): "minute" | "hour" {
  if (groupBy === "minute") return "minute";
  if (groupBy === "hour" || groupBy === "day") return "hour";
  return Date.parse(since) >= now - (MINUTE_ROLLUP_DAYS - 1) * DAY_MS ? "minute" : "hour";
}

audit.get("/series", async (c) => {
  const { key_ids, ...query } = readQuery(c, SeriesQuerySchema);
  const now = Date.now();
  const since = query.since ?? new Date(now - DAY_MS).toISOString();
  const filter = { ...query, since, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  const unit = Date.parse(since) >= now - (MINUTE_ROLLUP_DAYS - 1) * DAY_MS ? "minute" : "hour";
  const points = await keySeries(auditDb(c.env), filter, key_ids, unit);
  return c.json({ ok: true, data: { interval: "hour", since, points } });
});
