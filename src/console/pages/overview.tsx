/** @jsxImportSource hono/jsx */
/**
 * @module
 * The overview of one org (optionally one project): traffic over the last hour, day or week,
 * the top denial reasons, the keys with most denials, and the keys that need attention (expiring
 * within 7 days, in report mode, stale). Seven admin API calls, run together, one D1 query each;
 * the traffic and denial panels read the audit rollups.
 */
import type { Child } from "hono/jsx";
import { fillBuckets, TrafficChart, type Interval, type SeriesPoint } from "../charts";
import type { ConsoleContext, ListedKey, ProjectItem, SummaryGroup } from "../context";
import { formatTime } from "../format";
import { orgPath } from "../paths";
import { KeyStates, ProjectFilter, unwrap } from "./parts";
import { type Column, Table } from "./table";

export const RANGES = {
  "1h": { ms: 3_600_000, interval: "minute" },
  "24h": { ms: 86_400_000, interval: "hour" },
  "7d": { ms: 7 * 86_400_000, interval: "hour" },
} as const satisfies Record<string, { ms: number; interval: Interval }>;
export type RangeName = keyof typeof RANGES;
/** Rows of each "top" panel. */
const TOP_GROUPS = 10;

export async function overviewPage(c: ConsoleContext) {
  const org = c.var.org.id;
  const rangeName: RangeName = (Object.hasOwn(RANGES, c.req.query("range") ?? "") ? c.req.query("range") : "24h") as RangeName;
  const range = RANGES[rangeName];
  const projectId = c.req.query("project_id") || undefined;
  const now = Date.now();
  const since = new Date(now - range.ms).toISOString();
  const scope = { org_id: org, project_id: projectId };
  const api = c.var.api;
  const [series, reasons, keysByDenials, expiring, report, stale, projects] = await Promise.all([
    api.get<{ groups: (SummaryGroup & Omit<SeriesPoint, "t">)[] }>("/audit/summary", { ...scope, group_by: range.interval, since }),
    api.get<{ groups: SummaryGroup[] }>("/audit/summary", { ...scope, group_by: "reason", outcome: "denied", since }),
    api.get<{ groups: SummaryGroup[] }>("/audit/summary", { ...scope, group_by: "key", outcome: "denied", since }),
    api.get<ListedKey[]>("/keys", { ...scope, state: "expiring", limit: "10" }),
    api.get<ListedKey[]>("/keys", { ...scope, state: "report", limit: "10" }),
    api.get<ListedKey[]>("/keys", { ...scope, state: "stale", limit: "10" }),
    api.get<ProjectItem[]>("/projects", { org_id: org, limit: "1000" }),
  ]);
  const denialsByKey = unwrap(keysByDenials).groups.slice(0, TOP_GROUPS);
  const keyNames = await namesOf(c, denialsByKey);
  const buckets = unwrap(series).groups.map((group) => ({ ...group, t: group.value ?? "" }));
  const points = fillBuckets(buckets, range.interval, Date.parse(since), now);
  return c.render(
    <>
      <h1>Overview</h1>
      <form method="get" class="filters" action={orgPath(org)}>
        <label>
          Time range
          <select name="range">
            {Object.keys(RANGES).map((name) => (
              <option value={name} selected={name === rangeName}>{`last ${name}`}</option>
            ))}
          </select>
        </label>
        <ProjectFilter projects={unwrap(projects)} selected={projectId} />
        <button type="submit">Show</button>
      </form>
      <div class="grid">
        <section class="card wide" aria-labelledby="traffic">
          <h2 id="traffic">{`Requests, denials and would-deny · last ${rangeName}`}</h2>
          <TrafficChart points={points} interval={range.interval} label={`Traffic, last ${rangeName}`} />
        </section>
        <Groups title="Top denial reasons" groups={unwrap(reasons).groups} header="reason" render={(value) => value ?? "—"} />
        <Groups title="Keys with most denials" groups={denialsByKey} header="key" render={(value) => <KeyName org={org} id={value} names={keyNames} />} />
        <KeyPanel title="Expiring within 7 days" keys={unwrap(expiring)} org={org} empty="No key expires within 7 days." />
        <KeyPanel title="Report mode" keys={unwrap(report)} org={org} empty="No key is in report mode." />
        <KeyPanel title="Stale (unused 30 days)" keys={unwrap(stale)} org={org} empty="Every key was used in the last 30 days." />
      </div>
    </>,
    { title: "Overview", section: "overview" },
  );
}

function Groups(props: { title: string; groups: SummaryGroup[]; header: string; render: (value: string | null) => Child }) {
  const top = props.groups.slice(0, TOP_GROUPS);
  return (
    <section class="card">
      <h2>{props.title}</h2>
      {top.length === 0 ? (
        <p class="muted">No denials in this range.</p>
      ) : (
        <Table
          columns={[
            { header: props.header, cell: (group) => props.render(group.value) },
            { header: "denials", class: "num", headerClass: "num", cell: (group) => group.count },
          ]}
          rows={top}
        />
      )}
    </section>
  );
}

function KeyPanel(props: { title: string; keys: ListedKey[]; org: string; empty: string }) {
  return (
    <section class="card">
      <h2>{props.title}</h2>
      {props.keys.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <Table columns={keyPanelColumns(props.org)} rows={props.keys} />
      )}
    </section>
  );
}

function keyPanelColumns(org: string): Column<ListedKey>[] {
  return [
    { header: "name", cell: (key) => <a href={orgPath(org, `/keys/${key.id}`)}>{key.name}</a> },
    { header: "state", cell: (key) => <KeyStates record={key} /> },
    { header: "expires", cell: (key) => formatTime(key.expires_at) },
    { header: "last used", cell: (key) => formatTime(key.last_used_at) },
  ];
}

/** The names of the keys among `groups` (one admin API call); a key that no longer exists is missing. */
async function namesOf(c: ConsoleContext, groups: SummaryGroup[]): Promise<Map<string, string>> {
  const ids = groups.flatMap((group) => (group.value === null ? [] : [group.value]));
  if (ids.length === 0) return new Map();
  const keys = unwrap(await c.var.api.get<ListedKey[]>("/keys", { org_id: c.var.org.id, ids: ids.join(","), limit: String(ids.length) }));
  return new Map(keys.map((key) => [key.id, key.name]));
}

/** A key by its name, linking to its page; by its id where no key of that id is left. */
function KeyName(props: { org: string; id: string | null; names: Map<string, string> }) {
  if (props.id === null) return <>no key</>;
  const name = props.names.get(props.id);
  return name ? <a href={orgPath(props.org, `/keys/${props.id}`)}>{name}</a> : <span class="mono">{props.id}</span>;
}
