// What each command does. Every command gets a context: { values, positionals, url, saved, env,
// fetch, out(text), err(text), json(value), client() } and returns an exit code.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DEFAULT_SCOPE, intFlag, splitScopes, timeFlag } from "./args.mjs";
import { credentialsPath, deleteCredentials, saveCredentials } from "./config.mjs";
import { pollForToken, requestDeviceCode } from "./device.mjs";
import { createClient, credentialsFromTokens, DEFAULT_CLIENT_ID, normalizeUrl, oauthForm, UsageError } from "./http.mjs";
import { auditLine, keyState, table } from "./output.mjs";

async function login(ctx) {
  const { values, url } = ctx;
  const clientId = values["client-id"] || DEFAULT_CLIENT_ID;
  const scope = values.scope ? splitScopes(values.scope).join(" ") : DEFAULT_SCOPE;
  const device = await requestDeviceCode({ fetch: ctx.fetch, url, clientId, scope, orgId: values.org, projectId: values.project });
  const prompt = `Open ${device.verification_uri_complete} and confirm code ${device.user_code}\n(or open ${device.verification_uri} and enter the code). Waiting for approval…`;
  // With --json, stdout carries only the result; the prompt goes to stderr.
  (values.json ? ctx.err : ctx.out)(prompt);
  if (values.open) openBrowser(device.verification_uri_complete);
  const tokens = await pollForToken({ fetch: ctx.fetch, url, clientId, device, sleep: ctx.sleep, now: ctx.now });
  const credentials = credentialsFromTokens(url, clientId, tokens, ctx.now());
  const path = await saveCredentials(credentials, ctx.env);
  const summary = { url, org_id: credentials.org_id, project_id: credentials.project_id, scope: credentials.scope, expires_at: credentials.expires_at, credentials_file: path };
  if (values.json) ctx.json(summary);
  else {
    ctx.out(`Logged in to ${url} (org ${credentials.org_id ?? "-"}${credentials.project_id ? `, project ${credentials.project_id}` : ""}).`);
    ctx.out(`Scopes: ${credentials.scope || "-"}`);
    ctx.out(`Token saved to ${path} (mode 0600).`);
  }
  return 0;
}

function openBrowser(target) {
  const [command, args] =
    process.platform === "darwin" ? ["open", [target]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", target]] : ["xdg-open", [target]];
  try {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // no browser: the URL is printed anyway
  }
}

async function logout(ctx) {
  const saved = ctx.saved;
  if (!saved) {
    if (ctx.values.json) ctx.json({ logged_out: false });
    else ctx.out("Not logged in.");
    return 0;
  }
  let revoked = true;
  // The refresh token ends its whole family; the access token is revoked too, in case.
  for (const token of [saved.refresh_token, saved.access_token]) {
    if (!token) continue;
    try {
      const { status } = await oauthForm(ctx.fetch, saved.url, "/revoke", { token, client_id: saved.client_id || DEFAULT_CLIENT_ID });
      if (status !== 200) revoked = false;
    } catch {
      revoked = false;
    }
  }
  await deleteCredentials(ctx.env);
  if (ctx.values.json) ctx.json({ logged_out: true, revoked });
  else {
    ctx.out(`Logged out of ${saved.url}; deleted ${credentialsPath(ctx.env)}.`);
    if (!revoked) ctx.err("warning: could not revoke the token on the server (it expires on its own)");
  }
  return 0;
}

async function whoami(ctx) {
  // Always the saved login (for this URL), also when KEYGATE_API_KEY / KEYGATE_ADMIN_TOKEN are set.
  if (!ctx.saved || normalizeUrl(ctx.saved.url) !== ctx.url) {
    if (ctx.auth) throw new UsageError(`authenticated with ${ctx.auth.kind === "admin" ? "KEYGATE_ADMIN_TOKEN" : "an API key"}; whoami needs a saved login (keygate login)`);
    throw new UsageError(ctx.saved ? `not logged in to ${ctx.url} (the saved login is for ${ctx.saved.url}); run keygate login` : "not logged in; run keygate login");
  }
  const client = createClient({ url: ctx.url, auth: { kind: "oauth", saved: ctx.saved }, env: ctx.env, fetch: ctx.fetch, now: ctx.now });
  const { data } = await client.json("GET", "/_keygate/oauth/userinfo");
  if (ctx.values.json) ctx.json(data);
  else {
    ctx.out(
      table(
        ["field", "value"],
        [
          ["url", ctx.url],
          ["email", data.email],
          ["user_id", data.user_id],
          ["org_id", data.org_id],
          ["project_id", data.project_id],
          ["scopes", (data.scopes ?? []).join(" ")],
          ["client_id", data.client_id],
          ["expires_at", data.expires_at],
        ],
      ),
    );
  }
  return 0;
}

function printNewKey(ctx, data, verb) {
  if (ctx.values.json) return ctx.json(data);
  ctx.out(`${verb} key ${data.id} "${data.name}" (${data.key_prefix}…)${data.project_id ? ` in project ${data.project_id}` : ""}`);
  ctx.out(`scopes: ${(data.scopes ?? []).join(" ")}${data.expires_at ? `; expires ${data.expires_at}` : ""}`);
  ctx.out("");
  ctx.out(`  ${data.key}`);
  ctx.out("");
  ctx.err("Store this key now: it will not be shown again.");
}

async function keysCreate(ctx) {
  const v = ctx.values;
  if (!v.name) throw new UsageError("--name is required\nUsage: keygate keys create --name NAME (--scopes SCOPES | --preset PRESET)", 2);
  if (Boolean(v.scopes) === Boolean(v.preset)) throw new UsageError("give exactly one of --scopes and --preset", 2);
  const body = {
    name: v.name,
    ...(v.scopes && { scopes: splitScopes(v.scopes) }),
    ...(v.preset && { preset: v.preset }),
    ...(v.org && { org_id: v.org }),
    ...(v.project && { project_id: v.project }),
    ...(v.ip?.length && { allowed_ips: v.ip }),
    ...(v.origin?.length && { allowed_origins: v.origin }),
    ...(v.expires && { expires_at: v.expires }),
  };
  const { data } = await ctx.client().json("POST", "/_keygate/v1/keys", { body });
  printNewKey(ctx, data, "Created");
  return 0;
}

async function keysList(ctx) {
  const v = ctx.values;
  const limit = intFlag(v, "limit", { min: 1, max: 1000 });
  const client = ctx.client();
  const keys = [];
  let cursor = v.cursor;
  let next = null;
  do {
    const page = await client.json("GET", "/_keygate/v1/keys", { query: { org_id: v.org, project_id: v.project, limit: limit ?? (v.all ? 1000 : undefined), cursor } });
    keys.push(...page.data);
    next = page.next_cursor ?? null;
    cursor = next;
  } while (v.all && next);
  if (v.json) {
    ctx.json({ data: keys, next_cursor: next });
    return 0;
  }
  if (keys.length === 0) ctx.out("No keys.");
  else {
    const now = ctx.now();
    ctx.out(
      table(
        ["id", "name", "prefix", "scopes", "last_used_at", "requests_24h", "state"],
        keys.map((k) => [k.id, k.name, k.key_prefix, (k.scopes ?? []).join(" "), k.last_used_at, k.requests_24h ?? "-", keyState(k, now)]),
      ),
    );
  }
  if (next) ctx.err(`More keys: keygate keys list --all, or --cursor ${next}`);
  return 0;
}

async function keysRotate(ctx) {
  const v = ctx.values;
  const grace = intFlag(v, "grace", { min: 0, max: 7 * 24 * 3600 });
  const body = { ...(grace !== undefined && { grace_seconds: grace }), ...(v.scopes && { scopes: splitScopes(v.scopes) }) };
  const { data } = await ctx.client().json("POST", `/_keygate/v1/keys/${encodeURIComponent(ctx.positionals[0])}/rotate`, { body });
  printNewKey(ctx, data, `Rotated ${ctx.positionals[0]} into`);
  return 0;
}

async function keysRevoke(ctx) {
  const { data } = await ctx.client().json("DELETE", `/_keygate/v1/keys/${encodeURIComponent(ctx.positionals[0])}`);
  if (ctx.values.json) ctx.json(data);
  else ctx.out(`Revoked key ${data?.id ?? ctx.positionals[0]}${data?.revoked_at ? ` at ${data.revoked_at}` : ""}.`);
  return 0;
}

function auditFilters(v) {
  return { org_id: v.org, key_id: v.key, outcome: v.outcome };
}

/**
 * Polls /audit (newest first) and prints events oldest first. The first poll shows the latest 20;
 * later polls ask for `since` the newest timestamp seen (inclusive) and skip ids already printed.
 */
async function auditTail(ctx) {
  const v = ctx.values;
  const interval = intFlag(v, "interval", { min: 1, max: 3600 }) ?? 2;
  const maxPolls = v.once ? 1 : intFlag(v, "max-polls", { min: 1 });
  const client = ctx.client();
  let since;
  let seenAtSince = new Set();
  for (let poll = 1; ; poll++) {
    const events = [];
    let cursor;
    // A burst bigger than one page: follow the cursor (bounded), still newest first.
    for (let page = 0; page < 10; page++) {
      const body = await client.json("GET", "/_keygate/v1/audit", { query: { ...auditFilters(v), since, limit: since ? 1000 : 20, cursor } });
      events.push(...body.data);
      cursor = body.next_cursor;
      if (!cursor || !since) break;
    }
    const fresh = events.filter((e) => !seenAtSince.has(e.id)).reverse();
    for (const event of fresh) {
      if (v.json) ctx.json(event, true);
      else ctx.out(auditLine(event));
    }
    if (events.length > 0) {
      const newest = events[0].ts;
      if (newest !== since) seenAtSince = new Set();
      since = newest;
      for (const e of events) if (e.ts === newest) seenAtSince.add(e.id);
    }
    if (maxPolls !== undefined && poll >= maxPolls) return 0;
    await ctx.sleep(interval * 1000);
  }
}

async function auditExport(ctx) {
  const v = ctx.values;
  const format = v.format ?? "ndjson";
  if (format !== "ndjson" && format !== "csv") throw new UsageError(`--format must be ndjson or csv, got "${format}"`, 2);
  const response = await ctx.client().raw("GET", "/_keygate/v1/audit", {
    query: { ...auditFilters(v), since: timeFlag(v, "since", ctx.now()), until: timeFlag(v, "until", ctx.now()), format },
    accept: format === "csv" ? "text/csv" : "application/x-ndjson",
  });
  const source = Readable.fromWeb(response.body);
  if (!v.out) {
    await pipeline(source, ctx.stdoutStream);
    return 0;
  }
  // Written beside the target and renamed at the end, so a cut-off export never looks complete.
  const partial = `${v.out}.partial`;
  try {
    await pipeline(source, createWriteStream(partial, { mode: 0o600 }));
  } catch (error) {
    await rm(partial, { force: true });
    throw new Error(`the export was cut off (${/** @type {Error} */ (error).message}); nothing was written to ${v.out}`);
  }
  await rename(partial, v.out);
  if (!v.json) ctx.err(`Wrote ${v.out}.`);
  return 0;
}

export const HANDLERS = {
  login,
  logout,
  whoami,
  "keys create": keysCreate,
  "keys list": keysList,
  "keys rotate": keysRotate,
  "keys revoke": keysRevoke,
  "audit tail": auditTail,
  "audit export": auditExport,
};
