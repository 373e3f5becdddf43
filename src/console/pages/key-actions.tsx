/** @jsxImportSource hono/jsx */
/**
 * @module
 * Changing keys from the console: the create form, and the actions of the key page. Each action
 * is confirmed first (the form posts without `confirmed`, the console answers a page saying what
 * will change, whose button posts again with `confirmed=yes`), then it is one admin API call. A
 * raw key (create, rotate) is rendered once, on the answer to that POST, and never again.
 */
import { queryString, type ApiResult, type ConsoleApi } from "../api";
import type { ConsoleContext, ListedKey, ProjectItem, ScopeCatalog } from "../context";
import { lines } from "../format";
import { Notice } from "../layout";
import { orgPath } from "../paths";
import { ApiErrorNotice, ProjectFilter, unwrap } from "./parts";

type Form = Record<string, string | string[]>;

interface KeyAction {
  title: string;
  danger?: boolean;
  /** What will change, in sentences, for the confirmation page. */
  describe(key: ListedKey, form: Form): string[];
  run(api: ConsoleApi, key: ListedKey, form: Form): Promise<ApiResult<ListedKey & { key?: string }>>;
}

const all = (form: Form, name: string): string[] => {
  const value = form[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};
const one = (form: Form, name: string): string => all(form, name)[0] ?? "";
// Names the key's org: a session otherwise acts for its active org, which may be another one.
const keyPath = (key: ListedKey, rest = "") => `/keys/${encodeURIComponent(key.id)}${rest}${queryString({ org_id: key.org_id })}`;

export const KEY_ACTIONS: Record<string, KeyAction> = {
  rotate: {
    title: "Rotate key",
    describe: (key, form) => [
      `A successor of "${key.name}" is issued with the same settings; its raw key is shown once.`,
      Number(one(form, "grace_seconds")) > 0
        ? `This key keeps working for ${Number(one(form, "grace_seconds")) / 3600} hour(s), then expires.`
        : "This key stops working at once.",
    ],
    run: (api, key, form) => api.send("POST", keyPath(key, "/rotate"), { grace_seconds: Number(one(form, "grace_seconds")) || 0 }),
  },
  revoke: {
    title: "Revoke key",
    danger: true,
    describe: (key) => [`"${key.name}" (${key.key_prefix}…) stops working for good. This cannot be undone.`],
    run: (api, key) => api.send("DELETE", keyPath(key)),
  },
  scopes: {
    title: "Narrow scopes",
    describe: (key, form) => {
      const kept = all(form, "scopes");
      const dropped = key.scopes.filter((scope) => !kept.includes(scope));
      return [`Kept: ${kept.join(" ") || "none"}.`, `Dropped: ${dropped.join(" ") || "none"}.`];
    },
    run: (api, key, form) => api.send("PATCH", keyPath(key), { scopes: all(form, "scopes") }),
  },
  allowlists: {
    title: "Edit allowlists",
    describe: (_key, form) => [
      `Allowed IPs: ${lines(one(form, "allowed_ips")).join(" ") || "any"}.`,
      `Allowed origins: ${lines(one(form, "allowed_origins")).join(" ") || "any"}.`,
    ],
    run: (api, key, form) =>
      api.send("PATCH", keyPath(key), { allowed_ips: lines(one(form, "allowed_ips")), allowed_origins: lines(one(form, "allowed_origins")) }),
  },
  enforce: {
    title: "Enforce restrictions",
    describe: (key) => [`IP and Origin violations of "${key.name}" are refused from now on instead of reported.`],
    run: (api, key) => api.send("PATCH", keyPath(key), { restrictions_mode: "enforce" }),
  },
};

/** `POST /<org>/keys/<id>/<action>`: the confirmation page, or the change once confirmed. */
export async function keyActionPost(c: ConsoleContext) {
  const org = c.var.org.id;
  const action = KEY_ACTIONS[c.req.param("action") ?? ""];
  if (!action || !Object.hasOwn(KEY_ACTIONS, c.req.param("action") ?? "")) return c.notFound();
  const form = (await c.req.parseBody({ all: true })) as Form;
  const key = unwrap(await c.var.api.get<ListedKey>(`/keys/${encodeURIComponent(c.req.param("id") ?? "")}`, { org_id: org }));
  if (one(form, "confirmed") !== "yes") return confirmPage(c, action, key, form);
  const result = await action.run(c.var.api, key, form);
  if (!result.ok) {
    c.status(result.status as 400);
    return c.render(
      <>
        <h1>{action.title}</h1>
        <ApiErrorNotice result={result} />
        <a href={orgPath(org, `/keys/${key.id}`)}>Back to the key</a>
      </>,
      { title: action.title, section: "keys" },
    );
  }
  if (result.data.key !== undefined) return secretPage(c, result.data as ListedKey & { key: string }, "Key rotated");
  return c.redirect(`${orgPath(org, `/keys/${key.id}`)}?done=${c.req.param("action")}`, 303);
}

function confirmPage(c: ConsoleContext, action: KeyAction, key: ListedKey, form: Form) {
  const org = c.var.org.id;
  return c.render(
    <>
      <h1>{`${action.title}?`}</h1>
      <Notice kind="warn">
        {action.describe(key, form).map((sentence) => (
          <p>{sentence}</p>
        ))}
      </Notice>
      <form method="post" class="actions">
        {Object.entries(form).flatMap(([name, value]) =>
          (Array.isArray(value) ? value : [value]).filter((v) => typeof v === "string").map((v) => <input type="hidden" name={name} value={v} />),
        )}
        <input type="hidden" name="confirmed" value="yes" />
        <button type="submit" class={action.danger ? "danger" : undefined} autofocus>
          {`Yes, ${action.title.toLowerCase()}`}
        </button>
        <a class="button secondary" href={orgPath(org, `/keys/${key.id}`)}>
          Cancel
        </a>
      </form>
    </>,
    { title: action.title, section: "keys" },
  );
}

/** The one page that ever shows a raw key. */
function secretPage(c: ConsoleContext, created: ListedKey & { key: string }, title: string) {
  const org = c.var.org.id;
  return c.render(
    <>
      <h1>{title}</h1>
      <Notice kind="warn">
        <p>
          <strong>Copy this key now.</strong> It is shown this once and never again: Keygate stores only its hash. If you lose it, rotate
          the key.
        </p>
        <div class="secret">
          <output id="raw-key" aria-label="The new API key">
            {created.key}
          </output>
          <button type="button" data-copy="raw-key" hidden>
            Copy
          </button>
        </div>
        <p id="raw-key-note" class="small" aria-live="polite"></p>
      </Notice>
      <p>
        <a href={orgPath(org, `/keys/${created.id}`)}>{`Go to "${created.name}"`}</a>
      </p>
    </>,
    { title, section: "keys" },
  );
}

/** `GET /<org>/keys/new` and a refused `POST /<org>/keys`: the create form. */
export async function newKeyPage(c: ConsoleContext, form: Form = {}, refused?: Extract<ApiResult<unknown>, { ok: false }>) {
  const org = c.var.org.id;
  const [catalogResult, projects] = await Promise.all([
    c.var.api.get<ScopeCatalog>("/scopes"),
    c.var.api.get<ProjectItem[]>("/projects", { org_id: org, limit: "1000" }),
  ]);
  const catalog = unwrap(catalogResult);
  const chosen = new Set(all(form, "scopes"));
  const grantable = [...Object.keys(catalog.wildcards), ...Object.keys(catalog.scopes)];
  if (refused) c.status(refused.status as 400);
  return c.render(
    <>
      <h1>New key</h1>
      {refused && <ApiErrorNotice result={refused} />}
      <form method="post" action={orgPath(org, "/keys")} class="card stack">
        <label>
          Name
          <input name="name" required maxlength={200} value={one(form, "name")} autofocus />
        </label>
        <ProjectFilter projects={unwrap(projects)} selected={one(form, "project_id") || undefined} label="Bind to project (optional)" />
        <label>
          Preset (or pick scopes below)
          <select name="preset">
            <option value="">no preset</option>
            {Object.entries(catalog.presets).map(([name, scopes]) => (
              <option value={name} selected={one(form, "preset") === name}>{`${name}: ${scopes.join(" ")}`}</option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Scopes</legend>
          <div class="scopes">
            {grantable.map((scope) => (
              <label class="inline" title={catalog.wildcards[scope] ?? catalog.scopes[scope]}>
                <input type="checkbox" name="scopes" value={scope} checked={chosen.has(scope)} /> <span class="mono">{scope}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Allowed IPs and CIDRs (one a line; empty: any)
          <textarea name="allowed_ips">{one(form, "allowed_ips")}</textarea>
        </label>
        <label>
          Allowed origins (one a line; empty: any)
          <textarea name="allowed_origins">{one(form, "allowed_origins")}</textarea>
        </label>
        <label>
          Expires (UTC date, optional)
          <input type="date" name="expires" value={one(form, "expires")} />
        </label>
        <div class="actions">
          <button type="submit">Create key</button>
          <a class="button secondary" href={orgPath(org, "/keys")}>
            Cancel
          </a>
        </div>
      </form>
    </>,
    { title: "New key", section: "keys" },
  );
}

/** `POST /<org>/keys`: creates the key and shows its raw value once. */
export async function createKeyPost(c: ConsoleContext) {
  const form = (await c.req.parseBody({ all: true })) as Form;
  const preset = one(form, "preset");
  const expires = one(form, "expires");
  const body = {
    org_id: c.var.org.id,
    name: one(form, "name"),
    ...(preset ? { preset } : { scopes: all(form, "scopes") }),
    ...(one(form, "project_id") && { project_id: one(form, "project_id") }),
    allowed_ips: lines(one(form, "allowed_ips")),
    allowed_origins: lines(one(form, "allowed_origins")),
    ...(expires && { expires_at: `${expires}T00:00:00.000Z` }),
  };
  const result = await c.var.api.send<ListedKey & { key: string }>("POST", "/keys", body);
  if (!result.ok) return newKeyPage(c, form, result);
  c.status(201);
  return secretPage(c, result.data, "Key created");
}
