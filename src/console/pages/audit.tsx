/** @jsxImportSource hono/jsx */
/**
 * @module
 * The audit explorer: every audit field the admin API filters by, a time range, newest first in
 * cursor pages, a row detail (admin changes as before → after), exports of the current filter
 * through the API's streamed export, and a live tail (the console script polls the same API).
 */
import { ADMIN_ACTIONS, CALLERS, OUTCOMES, type AuditEvent } from "../../schemas/audit-event";
import { queryString } from "../api";
import type { ConsoleContext } from "../context";
import { formatTime, fromLocalInput, toLocalInput } from "../format";
import { orgPath } from "../paths";
import { Pager, unwrap } from "./parts";
import { type Column, Table } from "./table";

/** Filters shown as text inputs, in the order of the form; the first row is always visible. */
const TEXT_FILTERS = [
  ["key_id", "Key id"],
  ["key_prefix", "Key prefix"],
  ["project_id", "Project"],
  ["reason", "Reason"],
  ["path", "Path"],
  ["request_id", "Request id"],
  ["client_request_id", "Client request id"],
  ["status", "Status"],
  ["method", "Method"],
  ["ip", "IP"],
  ["origin", "Origin"],
  ["country", "Country"],
  ["colo", "Colo"],
  ["user_agent", "User agent"],
  ["target_id", "Target id"],
  ["required_scope", "Required scope"],
  ["missing_scope", "Missing scope"],
] as const;
const PRIMARY_FILTERS = 5;
const SELECT_FILTERS = { outcome: OUTCOMES, caller: CALLERS, action: ADMIN_ACTIONS } as const;
const RANGES: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };

/** The page's filter values as the admin API takes them (empty ones left out). */
function apiFilter(c: ConsoleContext): Record<string, string | undefined> {
  const filter: Record<string, string | undefined> = { org_id: c.var.org.id };
  for (const [name] of TEXT_FILTERS) filter[name] = c.req.query(name) || undefined;
  for (const name of Object.keys(SELECT_FILTERS)) filter[name] = c.req.query(name) || undefined;
  const range = c.req.query("range") ?? "";
  if (Object.hasOwn(RANGES, range)) filter.since = new Date(Date.now() - RANGES[range]!).toISOString();
  else {
    filter.since = fromLocalInput(c.req.query("since"));
    filter.until = fromLocalInput(c.req.query("until"));
  }
  return filter;
}

export async function auditPage(c: ConsoleContext) {
  const filter = apiFilter(c);
  const result = await c.var.api.get<AuditEvent[]>("/audit", { ...filter, cursor: c.req.query("cursor"), limit: "50" });
  const events = unwrap(result);
  const range = c.req.query("range") ?? "";
  const exportQuery = (format: string) => `/_keygate/v1/audit${queryString({ ...filter, format })}`;
  const { since: _since, until: _until, ...tailFilter } = filter;
  return c.render(
    <>
      <h1>Audit log</h1>
      <form method="get" class="filters" action={orgPath(c.var.org.id, "/audit")}>
        {Object.entries(SELECT_FILTERS).map(([name, values]) => (
          <label>
            {name}
            <select name={name}>
              <option value="">any</option>
              {values.map((value) => (
                <option value={value} selected={c.req.query(name) === value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
        ))}
        {TEXT_FILTERS.slice(0, PRIMARY_FILTERS).map(([name, label]) => (
          <label>
            {label}
            <input name={name} value={c.req.query(name) ?? ""} />
          </label>
        ))}
        <label>
          Time range
          <select name="range">
            <option value="">custom (below)</option>
            {Object.keys(RANGES).map((name) => (
              <option value={name} selected={range === name}>{`last ${name}`}</option>
            ))}
          </select>
        </label>
        <label>
          Since (UTC)
          <input type="datetime-local" name="since" value={range ? "" : toLocalInput(filter.since)} />
        </label>
        <label>
          Until (UTC)
          <input type="datetime-local" name="until" value={range ? "" : toLocalInput(filter.until)} />
        </label>
        <details>
          <summary>More filters</summary>
          <div class="filters">
            {TEXT_FILTERS.slice(PRIMARY_FILTERS).map(([name, label]) => (
              <label>
                {label}
                <input name={name} value={c.req.query(name) ?? ""} />
              </label>
            ))}
          </div>
        </details>
        <button type="submit">Filter</button>
        <a class="button secondary" href={orgPath(c.var.org.id, "/audit")}>
          Clear
        </a>
      </form>
      <div class="actions">
        <a class="button secondary" href={exportQuery("csv")} download="keygate-audit.csv">
          Export CSV
        </a>
        <a class="button secondary" href={exportQuery("ndjson")} download="keygate-audit.ndjson">
          Export NDJSON
        </a>
        <button
          type="button"
          class="secondary"
          data-tail
          aria-pressed="false"
          data-api={`/_keygate/v1/audit${queryString({ ...tailFilter, limit: "100" })}`}
          data-since={events[0]?.ts ?? new Date().toISOString()}
          hidden
        >
          Start live tail
        </button>
        <span id="tail-status" class="small muted" aria-live="polite"></span>
      </div>
      <section class="card">
        <Table columns={EVENT_COLUMNS} rows={events} empty="No events match." bodyId="audit-rows" rowAttributes={(event) => ({ "data-id": event.id })} />
        <Pager url={new URL(c.req.url)} nextCursor={result.ok ? result.next_cursor : null} />
      </section>
    </>,
    { title: "Audit log", section: "audit" },
  );
}

const EVENT_COLUMNS: Column<AuditEvent>[] = [
  { header: "time (UTC)", class: "mono", cell: (event) => formatTime(event.ts) },
  { header: "outcome", cell: (event) => <span class={`badge o-${event.outcome}`}>{event.outcome}</span> },
  { header: "status", class: "num", headerClass: "num", cell: (event) => event.status },
  { header: "method", cell: (event) => event.method },
  { header: "path", class: "mono", cell: (event) => event.path },
  { header: "key", class: "mono", cell: (event) => event.key_prefix ?? "" },
  { header: "caller", cell: (event) => event.caller ?? "" },
  { header: "reason", cell: (event) => event.reason ?? (event.action ? `${event.action} ${event.target_id ?? ""}` : "") },
  { header: "detail", cell: (event) => <EventDetail event={event} /> },
];

const CHANGE_COLUMNS: Column<[field: string, change: [before: unknown, after: unknown]]>[] = [
  { header: "field", cell: ([field]) => field },
  { header: "before", cell: ([, [before]]) => JSON.stringify(before) },
  { header: "after", cell: ([, [, after]]) => `→ ${JSON.stringify(after)}` },
];

function EventDetail(props: { event: AuditEvent }) {
  const event = props.event;
  return (
    <details class="row">
      <summary>detail</summary>
      {event.changes && Object.keys(event.changes).length > 0 && (
        <Table columns={CHANGE_COLUMNS} rows={Object.entries(event.changes)} class="changes" scroll={false} />
      )}
      <pre>{JSON.stringify(event, null, 2)}</pre>
    </details>
  );
}
