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
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>time (UTC)</th>
                <th>outcome</th>
                <th class="num">status</th>
                <th>method</th>
                <th>path</th>
                <th>key</th>
                <th>caller</th>
                <th>reason</th>
                <th>detail</th>
              </tr>
            </thead>
            <tbody id="audit-rows">
              {events.length === 0 && (
                <tr>
                  <td colspan={9} class="muted">
                    No events match.
                  </td>
                </tr>
              )}
              {events.map((event) => (
                <EventRow event={event} />
              ))}
            </tbody>
          </table>
        </div>
        <Pager url={new URL(c.req.url)} nextCursor={result.ok ? result.next_cursor : null} />
      </section>
    </>,
    { title: "Audit log", section: "audit" },
  );
}

function EventRow(props: { event: AuditEvent }) {
  const event = props.event;
  return (
    <tr data-id={event.id}>
      <td class="mono">{formatTime(event.ts)}</td>
      <td>
        <span class={`badge o-${event.outcome}`}>{event.outcome}</span>
      </td>
      <td class="num">{event.status}</td>
      <td>{event.method}</td>
      <td class="mono">{event.path}</td>
      <td class="mono">{event.key_prefix ?? ""}</td>
      <td>{event.caller ?? ""}</td>
      <td>{event.reason ?? (event.action ? `${event.action} ${event.target_id ?? ""}` : "")}</td>
      <td>
        <details class="row">
          <summary>detail</summary>
          {event.changes && Object.keys(event.changes).length > 0 && (
            <table class="changes">
              <thead>
                <tr>
                  <th>field</th>
                  <th>before</th>
                  <th>after</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(event.changes).map(([field, [before, after]]) => (
                  <tr>
                    <td>{field}</td>
                    <td>{JSON.stringify(before)}</td>
                    <td>{`→ ${JSON.stringify(after)}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <pre>{JSON.stringify(event, null, 2)}</pre>
        </details>
      </td>
    </tr>
  );
}
