/** @jsxImportSource hono/jsx */
/**
 * @module
 * One key: every setting, its rotation chain, its denials of the last 30 days by reason, and the
 * actions (rotate, revoke, narrow scopes, edit allowlists, report → enforce), each of which posts
 * to ./key-actions and is confirmed there before the admin API is called.
 */
import { canWrite, type ConsoleContext, type ListedKey, type SummaryGroup } from "../context";
import { formatTime } from "../format";
import { Notice } from "../layout";
import { orgPath } from "../paths";
import { KeyStates, unwrap } from "./parts";
import { Table } from "./table";

const MONTH_MS = 30 * 86_400_000;
/** How far the page follows `rotated_from` / `rotated_to` links each way. */
const CHAIN_HOPS = 5;

const DONE: Record<string, string> = {
  revoke: "The key is revoked: the gateway refuses it from now on.",
  scopes: "The key's scopes were narrowed.",
  allowlists: "The key's allowlists were saved.",
  enforce: "The key's restrictions are enforced now.",
};

export async function keyPage(c: ConsoleContext) {
  const org = c.var.org.id;
  const id = c.req.param("id") ?? "";
  const since = new Date(Date.now() - MONTH_MS).toISOString();
  const [keyResult, denials, exercised] = await Promise.all([
    c.var.api.get<ListedKey>(`/keys/${encodeURIComponent(id)}`, { org_id: org }),
    c.var.api.get<{ groups: SummaryGroup[] }>("/audit/summary", { org_id: org, key_id: id, outcome: "denied", group_by: "reason", since }),
    c.var.api.get<{ scope: string; requests: number }[]>("/audit/scopes", { org_id: org, key_id: id, since }),
  ]);
  const key = unwrap(keyResult);
  const chain = await rotationChain(c, key);
  const done = DONE[c.req.query("done") ?? ""];
  const writable = canWrite(c) && key.revoked_at === null;
  const action = (name: string) => orgPath(org, `/keys/${key.id}/${name}`);
  return c.render(
    <>
      <p class="small">
        <a href={orgPath(org, "/keys")}>← Keys</a>
      </p>
      <h1>
        {key.name} <KeyStates record={key} />
      </h1>
      {done && <Notice kind="ok">{done}</Notice>}
      <div class="grid">
        <section class="card">
          <h2>Settings</h2>
          <dl class="settings">
            <dt>id</dt>
            <dd class="mono">{key.id}</dd>
            <dt>prefix</dt>
            <dd class="mono">{key.key_prefix}</dd>
            <dt>scopes</dt>
            <dd class="mono">{key.scopes.join(" ") || "—"}</dd>
            <dt>preset</dt>
            <dd>{key.preset ?? "—"}</dd>
            <dt>project</dt>
            <dd class="mono">{key.project_id ?? "any project of the org"}</dd>
            <dt>allowed IPs</dt>
            <dd class="mono">{key.allowed_ips.join(" ") || "any"}</dd>
            <dt>allowed origins</dt>
            <dd class="mono">{key.allowed_origins.join(" ") || "any"}</dd>
            <dt>restrictions</dt>
            <dd>{key.restrictions_mode}</dd>
            <dt>rate limits</dt>
            <dd class="mono">
              {key.rate_limits.length === 0
                ? "none"
                : key.rate_limits.map((rule) => `${rule.name}: ${rule.limit} per ${rule.window_s} s (${rule.tier}${rule.cost > 1 ? `, cost ×${rule.cost}` : ""})`).join("; ")}
            </dd>
            <dt>quota</dt>
            <dd>{key.quota ? `${key.quota.limit} per ${key.quota.period}` : "none"}</dd>
            <dt>not before</dt>
            <dd>{formatTime(key.not_before)}</dd>
            <dt>expires</dt>
            <dd>{formatTime(key.expires_at)}</dd>
            <dt>last used</dt>
            <dd>{formatTime(key.last_used_at)}</dd>
            <dt>created</dt>
            <dd>{formatTime(key.created_at)}</dd>
            <dt>revoked</dt>
            <dd>{formatTime(key.revoked_at)}</dd>
          </dl>
          <p class="small muted">Times are UTC.</p>
          <p>
            <a href={`${orgPath(org, "/audit")}?key_id=${encodeURIComponent(key.id)}`}>This key's audit events</a>
          </p>
        </section>
        <section class="card">
          <h2>Rotation chain</h2>
          {chain.length === 1 ? (
            <p class="muted">Never rotated.</p>
          ) : (
            <ol>
              {chain.map((link) => (
                <li>
                  {link.id === key.id ? <strong>{`${link.name} (this key)`}</strong> : <a href={orgPath(org, `/keys/${link.id}`)}>{link.name}</a>}{" "}
                  <span class="mono small">{link.key_prefix}</span> <KeyStates record={link} />
                </li>
              ))}
            </ol>
          )}
          <h2>Denials by reason, last 30 days</h2>
          <Denials groups={unwrap(denials).groups} />
        </section>
        <LeastPrivilege
          granted={key.scopes}
          exercised={unwrap(exercised).map((row) => ({ value: row.scope, count: row.requests }))}
          narrowAction={writable ? action("scopes") : undefined}
        />
      </div>
      {writable && (
        <section class="card" aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <div class="grid">
            <form method="post" action={action("rotate")} class="stack">
              <h3>Rotate</h3>
              <p class="small muted">Issues a successor with the same settings; this key keeps working for the grace period.</p>
              <label>
                Grace period
                <select name="grace_seconds">
                  <option value="0">none: stop at once</option>
                  <option value="3600">1 hour</option>
                  <option value="86400" selected>
                    1 day
                  </option>
                  <option value="604800">7 days</option>
                </select>
              </label>
              <button type="submit">Rotate…</button>
            </form>
            <form method="post" action={action("scopes")} class="stack">
              <h3>Narrow scopes</h3>
              <fieldset>
                <legend>Keep these scopes</legend>
                {key.scopes.map((scope) => (
                  <label class="inline">
                    <input type="checkbox" name="scopes" value={scope} checked /> <span class="mono">{scope}</span>
                  </label>
                ))}
              </fieldset>
              <button type="submit">Narrow…</button>
            </form>
            <form method="post" action={action("allowlists")} class="stack">
              <h3>Allowlists</h3>
              <label>
                Allowed IPs and CIDRs (one a line; empty: any)
                <textarea name="allowed_ips">{key.allowed_ips.join("\n")}</textarea>
              </label>
              <label>
                Allowed origins (one a line; empty: any)
                <textarea name="allowed_origins">{key.allowed_origins.join("\n")}</textarea>
              </label>
              <button type="submit">Save allowlists…</button>
            </form>
            <div class="stack">
              {key.restrictions_mode === "report" && (
                <form method="post" action={action("enforce")} class="stack">
                  <h3>Enforce restrictions</h3>
                  <p class="small muted">Report mode lets IP and Origin violations through as would-deny. Enforcing refuses them.</p>
                  <button type="submit">Switch to enforce…</button>
                </form>
              )}
              <form method="post" action={action("revoke")} class="stack">
                <h3>Revoke</h3>
                <p class="small muted">The gateway refuses the key at once here and everywhere within the cache TTL.</p>
                <button type="submit" class="danger">
                  Revoke…
                </button>
              </form>
            </div>
          </div>
        </section>
      )}
    </>,
    { title: key.name, section: "keys" },
  );
}

/**
 * SPEC §8a least privilege: the scopes the key holds next to those its allowed requests needed in
 * the last 30 days, and one step to narrow the key to exactly those (confirmed like any action).
 */
function LeastPrivilege(props: { granted: readonly string[]; exercised: SummaryGroup[]; narrowAction: string | undefined }) {
  const used = props.exercised.flatMap((group) => (group.value === null ? [] : [group.value]));
  const narrower = used.length > 0 && (used.length !== props.granted.length || used.some((scope) => !props.granted.includes(scope)));
  return (
    <section class="card">
      <h2>Least privilege, last 30 days</h2>
      <Table
        columns={[
          { header: "granted", class: "mono", cell: () => props.granted.join(" ") || "—" },
          {
            header: "exercised by allowed requests",
            class: "mono",
            cell: () =>
              props.exercised.length === 0 ? "nothing yet" : props.exercised.map((group) => `${group.value ?? "(none)"} ×${group.count}`).join(" "),
          },
        ]}
        rows={[props]}
      />
      {narrower && props.narrowAction && (
        <form method="post" action={props.narrowAction} class="actions">
          {used.map((scope) => (
            <input type="hidden" name="scopes" value={scope} />
          ))}
          <button type="submit">Narrow to the exercised scopes…</button>
        </form>
      )}
    </section>
  );
}

function Denials(props: { groups: SummaryGroup[] }) {
  if (props.groups.length === 0) return <p class="muted">No denials.</p>;
  return (
    <Table
      columns={[
        { header: "reason", cell: (group) => group.value ?? "—" },
        { header: "denials", class: "num", headerClass: "num", cell: (group) => group.count },
      ]}
      rows={props.groups}
      scroll={false}
    />
  );
}

/** The key's predecessors and successors, oldest first, following the links a few hops each way. */
async function rotationChain(c: ConsoleContext, key: ListedKey): Promise<ListedKey[]> {
  const fetchKey = async (id: string) => {
    const result = await c.var.api.get<ListedKey>(`/keys/${encodeURIComponent(id)}`, { org_id: c.var.org.id });
    return result.ok ? result.data : undefined;
  };
  const before: ListedKey[] = [];
  const after: ListedKey[] = [];
  for (let link = key, hop = 0; link.rotated_from !== null && hop < CHAIN_HOPS; hop++) {
    const previous = await fetchKey(link.rotated_from);
    if (!previous) break;
    before.unshift((link = previous));
  }
  for (let link = key, hop = 0; link.rotated_to !== null && hop < CHAIN_HOPS; hop++) {
    const next = await fetchKey(link.rotated_to);
    if (!next) break;
    after.push((link = next));
  }
  return [...before, key, ...after];
}
