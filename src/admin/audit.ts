/**
 * @module
 * `/_keygate/v1/audit`: the audit log, newest first, with filters, cursor pages and streamed
 * NDJSON/CSV exports; `/audit/summary` counts events per key, reason, outcome or path (last 7 days
 * unless `since` says otherwise).
 */
import { Hono } from "hono";
import { z } from "zod";
import { listEvents, SUMMARY_GROUPS, summarizeEvents, type AuditFilter } from "../db/audit";
import type { KeygateEnv } from "../gateway/context";
import { requireScopes } from "../gateway/require-scopes";
import { OUTCOMES } from "../schemas/audit-event";
import { OrgIdSchema, ProjectIdSchema, TimestampSchema } from "../schemas/key";
import { actingOrg, actingProject } from "./actor";
import { exportStream } from "./audit-export";
import { readQuery } from "./input";
import { page, PageQuerySchema } from "./pagination";

const EXPORT_PAGE = 1000;
const SUMMARY_LIMIT = 1000;
/** Without `since`, a summary covers the last 7 days rather than an org's whole history. */
const DEFAULT_SUMMARY_WINDOW_MS = 7 * 86_400_000;

export const AuditFilterSchema = z.object({
  org_id: OrgIdSchema.optional(),
  project_id: ProjectIdSchema.optional(),
  key_id: z.string().max(64).optional(),
  request_id: z.string().max(64).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  reason: z.string().max(200).optional(),
  since: TimestampSchema.optional(),
  until: TimestampSchema.optional(),
});

export const AuditQuerySchema = PageQuerySchema.extend(AuditFilterSchema.shape).extend({
  format: z.enum(["json", "ndjson", "csv"]).default("json"),
});

export const SummaryQuerySchema = AuditFilterSchema.extend({
  group_by: z.enum(Object.keys(SUMMARY_GROUPS) as [keyof typeof SUMMARY_GROUPS, ...(keyof typeof SUMMARY_GROUPS)[]]),
});

const CONTENT_TYPES = { ndjson: "application/x-ndjson; charset=utf-8", csv: "text/csv; charset=utf-8" };

export const audit = new Hono<KeygateEnv>();

audit.use(requireScopes(["keygate:audit:read"]));

audit.get("/", async (c) => {
  const { format, limit, cursor, ...query } = readQuery(c, AuditQuerySchema);
  const filter: AuditFilter = { ...query, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  if (format === "json") {
    const rows = await listEvents(c.env.DB, filter, cursor, limit + 1);
    return c.json({ ok: true, ...page(rows, limit, (row) => row.id) });
  }
  const body = exportStream(format, (beforeId) => listEvents(c.env.DB, filter, beforeId ?? cursor, EXPORT_PAGE));
  return c.body(body, 200, {
    "content-type": CONTENT_TYPES[format],
    "content-disposition": `attachment; filename="keygate-audit.${format}"`,
  });
});

audit.get("/summary", async (c) => {
  const { group_by, ...query } = readQuery(c, SummaryQuerySchema);
  const since = query.since ?? new Date(Date.now() - DEFAULT_SUMMARY_WINDOW_MS).toISOString();
  const filter: AuditFilter = { ...query, since, org_id: actingOrg(c, query.org_id), project_id: actingProject(c, query.project_id) };
  const groups = await summarizeEvents(c.env.DB, filter, group_by, SUMMARY_LIMIT);
  return c.json({ ok: true, data: { group_by, groups } });
});
