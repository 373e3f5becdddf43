/** @jsxImportSource hono/jsx */
/**
 * @module
 * The keys table: filters by project, state, scope and prefix, cursor pages, and per key its
 * last 24 hours as a sparkline with allowed and denied counts. Three admin API calls: the page
 * of keys, their hourly series (one query for all keys on the page), and the projects.
 */
import { KEY_STATES } from "../../schemas/key-state";
import { fillBuckets, Sparkline, type SeriesPoint } from "../charts";
import { canWrite, type ConsoleContext, type ListedKey, type ProjectItem } from "../context";
import { formatTime } from "../format";
import { orgPath } from "../paths";
import { KeyStates, Pager, ProjectFilter, unwrap } from "./parts";
import { type Column, Table } from "./table";

const DAY_MS = 86_400_000;

export async function keysPage(c: ConsoleContext) {
  const org = c.var.org.id;
  const filters = {
    project_id: c.req.query("project_id"),
    state: c.req.query("state"),
    scope: c.req.query("scope"),
    prefix: c.req.query("prefix"),
  };
  const [keysResult, projects] = await Promise.all([
    c.var.api.get<ListedKey[]>("/keys", { org_id: org, ...filters, cursor: c.req.query("cursor"), limit: "50" }),
    c.var.api.get<ProjectItem[]>("/projects", { org_id: org, limit: "1000" }),
  ]);
  const keys = unwrap(keysResult);
  const now = Date.now();
  const since = new Date(now - DAY_MS).toISOString();
  const series =
    keys.length === 0
      ? []
      : unwrap(
          await c.var.api.get<{ points: SeriesPoint[] }>("/audit/series", {
            org_id: org,
            since,
            key_ids: keys.map((key) => key.id).join(","),
          }),
        ).points;
  const byKey = new Map<string, SeriesPoint[]>();
  for (const point of series) byKey.set(point.key_id ?? "", [...(byKey.get(point.key_id ?? "") ?? []), point]);
  return c.render(
    <>
      <h1>Keys</h1>
      <form method="get" class="filters" action={orgPath(org, "/keys")}>
        <ProjectFilter projects={unwrap(projects)} selected={filters.project_id} />
        <label>
          State
          <select name="state">
            <option value="">any state</option>
            {KEY_STATES.map((state) => (
              <option value={state} selected={state === filters.state}>
                {state}
              </option>
            ))}
          </select>
        </label>
        <label>
          Scope
          <input name="scope" value={filters.scope ?? ""} placeholder="content:read" />
        </label>
        <label>
          Prefix
          <input name="prefix" value={filters.prefix ?? ""} placeholder="kg_live_AbCd" />
        </label>
        <button type="submit">Filter</button>
        {canWrite(c) && (
          <a class="button secondary" href={orgPath(org, "/keys/new")}>
            New key
          </a>
        )}
      </form>
      <section class="card">
        <Table columns={keyColumns(org, since, now, byKey)} rows={keys} empty="No keys match." />
        <Pager url={new URL(c.req.url)} nextCursor={keysResult.ok ? keysResult.next_cursor : null} />
      </section>
    </>,
    { title: "Keys", section: "keys" },
  );
}

function keyColumns(org: string, since: string, now: number, byKey: Map<string, SeriesPoint[]>): Column<ListedKey>[] {
  return [
    { header: "name", cell: (key) => <a href={orgPath(org, `/keys/${key.id}`)}>{key.name}</a> },
    { header: "prefix", class: "mono", cell: (key) => key.key_prefix },
    { header: "scopes", class: "small", cell: (key) => (key.preset ? <span class="badge">{`preset ${key.preset}`}</span> : key.scopes.join(" ")) },
    { header: "project", class: "mono", cell: (key) => key.project_id ?? "—" },
    { header: "state", cell: (key) => <KeyStates record={key} /> },
    { header: "last used", cell: (key) => formatTime(key.last_used_at) },
    { header: "expires", cell: (key) => formatTime(key.expires_at) },
    {
      header: "24 h (allowed / denied)",
      class: "num",
      cell: (key) => {
        const points = fillBuckets(byKey.get(key.id) ?? [], "hour", Date.parse(since), now);
        const allowed = points.reduce((sum, p) => sum + p.allowed + p.would_deny, 0);
        const denied = points.reduce((sum, p) => sum + p.denied, 0);
        return (
          <>
            <Sparkline points={points} /> <span class="o-allowed">{allowed}</span> / <span class="o-denied">{denied}</span>
          </>
        );
      },
    },
  ];
}
