// Commands, their flags and their help text, and argument parsing (node:util parseArgs, strict).
import { parseArgs } from "node:util";
import { UsageError } from "./http.mjs";

export const GLOBAL_OPTIONS = {
  url: { type: "string", value: "<url>", help: "Keygate base URL (default: the saved login's, else $KEYGATE_URL, else http://localhost:8787)" },
  json: { type: "boolean", help: "machine-readable JSON output" },
  help: { type: "boolean", short: "h", help: "show help" },
};

const API_KEY = { type: "string", value: "<key>", help: "authenticate with an API key (x-api-key) instead of the saved login; also $KEYGATE_API_KEY" };

export const DEFAULT_SCOPE = "keygate:keys:read keygate:keys:write keygate:audit:read";

/** Every command: summary, usage, its own flags, positionals and one example. */
export const COMMANDS = {
  login: {
    summary: "sign in with the OAuth device flow and save the token",
    usage: "keygate login [--url URL] [--scope SCOPES] [--org ORG_ID] [--project ID] [--client-id NAME] [--open]",
    options: {
      scope: { type: "string", value: "<scopes>", help: `space-separated scopes to ask for (default "${DEFAULT_SCOPE}")` },
      org: { type: "string", value: "<org_id>", help: "the org to ask for (else chosen in the browser)" },
      project: { type: "string", value: "<id>", help: "bind the token to one project" },
      "client-id": { type: "string", value: "<name>", help: 'the client name shown on the approval page (default "keygate-cli")' },
      open: { type: "boolean", help: "also try to open the verification URL in a browser" },
    },
    example: "keygate login --url https://gw.example.com --org org_01H...",
  },
  logout: {
    summary: "revoke the saved token and delete it",
    usage: "keygate logout",
    options: {},
    example: "keygate logout",
  },
  whoami: {
    summary: "show who the saved login speaks for",
    usage: "keygate whoami [--json]",
    options: {},
    example: "keygate whoami --json",
  },
  "keys create": {
    summary: "create an API key (its raw value is shown once)",
    usage: "keygate keys create --name NAME (--scopes SCOPES | --preset PRESET) [--project ID] [--ip CIDR ...] [--origin ORIGIN ...] [--expires ISO] [--org ORG_ID]",
    options: {
      name: { type: "string", value: "<name>", help: "the key's name (required)" },
      scopes: { type: "string", value: "<scopes>", help: 'space- or comma-separated scopes, e.g. "content:read stories:read"' },
      preset: { type: "string", value: "<preset>", help: "a preset of policy.json instead of --scopes" },
      project: { type: "string", value: "<id>", help: "bind the key to one project" },
      ip: { type: "string", multiple: true, value: "<cidr>", help: "allowed IP or CIDR (repeatable)" },
      origin: { type: "string", multiple: true, value: "<origin>", help: "allowed browser Origin (repeatable)" },
      expires: { type: "string", value: "<iso>", help: "expiry, ISO 8601 (e.g. 2027-01-01T00:00:00Z)" },
      org: { type: "string", value: "<org_id>", help: "the org (needed with an ADMIN_TOKEN; implied by a login or API key)" },
      "api-key": API_KEY,
    },
    example: 'keygate keys create --name ci --scopes "content:read stories:read" --project product_123',
  },
  "keys list": {
    summary: "list API keys, newest first",
    usage: "keygate keys list [--org ORG_ID] [--project ID] [--limit N] [--cursor C] [--all]",
    options: {
      org: { type: "string", value: "<org_id>", help: "only this org (ADMIN_TOKEN)" },
      project: { type: "string", value: "<id>", help: "only this project" },
      limit: { type: "string", value: "<n>", help: "page size, 1-1000 (default 50)" },
      cursor: { type: "string", value: "<cursor>", help: "continue from a previous page's next_cursor" },
      all: { type: "boolean", help: "follow next_cursor to the end" },
      "api-key": API_KEY,
    },
    example: "keygate keys list --all --json",
  },
  "keys rotate": {
    summary: "replace a key with a new one (same settings); the new raw key is shown once",
    usage: "keygate keys rotate <key_id> [--grace SECONDS] [--scopes SCOPES]",
    positional: "<key_id>",
    options: {
      grace: { type: "string", value: "<seconds>", help: "keep the old key working this long (default 0, at most 604800)" },
      scopes: { type: "string", value: "<scopes>", help: "narrow the new key's scopes" },
      "api-key": API_KEY,
    },
    example: "keygate keys rotate key_01H... --grace 3600",
  },
  "keys revoke": {
    summary: "revoke a key (it stops working at once)",
    usage: "keygate keys revoke <key_id>",
    positional: "<key_id>",
    options: { "api-key": API_KEY },
    example: "keygate keys revoke key_01H...",
  },
  "audit tail": {
    summary: "follow the audit log: print new events as they arrive (Ctrl-C stops)",
    usage: "keygate audit tail [--org ORG_ID] [--key KEY_ID] [--outcome allowed|denied|would_deny] [--interval SECONDS] [--once]",
    options: {
      org: { type: "string", value: "<org_id>", help: "only this org (ADMIN_TOKEN)" },
      key: { type: "string", value: "<key_id>", help: "only this key" },
      outcome: { type: "string", value: "<outcome>", help: "allowed, denied or would_deny" },
      interval: { type: "string", value: "<seconds>", help: "seconds between polls (default 2)" },
      once: { type: "boolean", help: "print the latest events and exit" },
      "max-polls": { type: "string", hidden: true },
      "api-key": API_KEY,
    },
    example: "keygate audit tail --outcome denied",
  },
  "audit export": {
    summary: "stream the audit log as NDJSON or CSV",
    usage: "keygate audit export [--format ndjson|csv] [--since TIME] [--until TIME] [--org ORG_ID] [--key KEY_ID] [--outcome O] [--out FILE]",
    options: {
      format: { type: "string", value: "<format>", help: "ndjson (default) or csv" },
      since: { type: "string", value: "<time>", help: "from this time (inclusive): ISO 8601, or back from now: 30d, 12h, 15m" },
      until: { type: "string", value: "<time>", help: "up to this time (exclusive): ISO 8601, or back from now" },
      org: { type: "string", value: "<org_id>", help: "only this org (ADMIN_TOKEN)" },
      key: { type: "string", value: "<key_id>", help: "only this key" },
      outcome: { type: "string", value: "<outcome>", help: "allowed, denied or would_deny" },
      out: { type: "string", value: "<file>", help: "write to FILE (complete or not at all) instead of stdout" },
      "api-key": API_KEY,
    },
    example: "keygate audit export --format csv --since 30d --out audit.csv",
  },
};

const GROUPS = { keys: ["create", "list", "rotate", "revoke"], audit: ["tail", "export"] };

function optionLines(options) {
  const rows = Object.entries(options)
    .filter(([, o]) => !o.hidden)
    .map(([name, o]) => [`${o.short ? `-${o.short}, ` : ""}--${name}${o.value ? ` ${o.value}` : ""}`, o.help]);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`);
}

export function mainHelp() {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    "keygate: manage Keygate API keys and audit logs from the command line.",
    "",
    "Usage: keygate <command> [flags]",
    "",
    "Commands:",
    ...names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    "",
    "Global flags:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Environment: KEYGATE_URL, KEYGATE_API_KEY, KEYGATE_ADMIN_TOKEN, KEYGATE_CONFIG_DIR.",
    "Run keygate <command> --help for a command's flags.",
    "",
  ].join("\n");
}

export function groupHelp(group) {
  return [
    `Usage: keygate ${group} <${GROUPS[group].join("|")}> [flags]`,
    "",
    ...GROUPS[group].map((sub) => `  ${group} ${sub.padEnd(8)}  ${COMMANDS[`${group} ${sub}`].summary}`),
    "",
    `Run keygate ${group} <command> --help for its flags.`,
    "",
  ].join("\n");
}

export function commandHelp(name) {
  const command = COMMANDS[name];
  const own = optionLines(command.options);
  return [
    `keygate ${name}: ${command.summary}`,
    "",
    `Usage: ${command.usage}`,
    "",
    ...(own.length ? ["Flags:", ...own, ""] : []),
    "Global flags:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Example:",
    `  ${command.example}`,
    "",
  ].join("\n");
}

/**
 * Parses argv into `{ command, values, positionals }`, or `{ help: text }` when help was asked for
 * (or no command given). Unknown commands and flags throw a UsageError (exit 2).
 * @param {string[]} argv
 * @returns {{ help: string, command?: undefined, values?: undefined, positionals?: undefined }
 *   | { help?: undefined, command: string, values: Record<string, any>, positionals: string[] }}
 */
export function parseCommandLine(argv) {
  // Global flags may also come before the command: `keygate --url http://… keys list`.
  const leading = [];
  let start = 0;
  while (start < argv.length && argv[start].startsWith("-")) {
    const arg = argv[start];
    if (arg === "--url" || arg === "--api-key") leading.push(arg, argv[start + 1] ?? ""), (start += 2);
    else if (/^--(url|api-key)=/.test(arg) || arg === "--json" || arg === "--help" || arg === "-h") leading.push(arg), start++;
    else break;
  }
  argv = [...argv.slice(start), ...leading];
  const words = [];
  let i = 0;
  while (i < argv.length && !argv[i].startsWith("-") && words.length < 2) words.push(argv[i++]);
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  const [first, second] = words;
  if (first === undefined || first === "help") return { help: mainHelp() };
  let name;
  let rest;
  if (GROUPS[first]) {
    if (second === undefined) {
      if (wantsHelp) return { help: groupHelp(first) };
      throw new UsageError(`keygate ${first} needs a command: ${GROUPS[first].join(", ")}\n\n${groupHelp(first)}`, 2);
    }
    name = `${first} ${second}`;
    if (!COMMANDS[name]) throw new UsageError(`unknown command "keygate ${name}"\n\n${groupHelp(first)}`, 2);
    rest = argv.slice(i);
  } else {
    name = first;
    if (!COMMANDS[name]) throw new UsageError(`unknown command "${name}"\n\n${mainHelp()}`, 2);
    rest = argv.slice(second === undefined ? i : i - 1);
  }
  if (wantsHelp) return { help: commandHelp(name) };
  const command = COMMANDS[name];
  const options = Object.fromEntries(
    Object.entries({ ...GLOBAL_OPTIONS, ...command.options }).map(([key, o]) => [key, { type: o.type, ...(o.short && { short: o.short }), ...(o.multiple && { multiple: true }) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${/** @type {Error} */ (error).message.replace(/\. To specify a positional.*$/s, "")}\nRun keygate ${name} --help for its flags.`, 2);
  }
  const expected = command.positional ? 1 : 0;
  if (parsed.positionals.length !== expected) {
    throw new UsageError(
      expected ? `keygate ${name} needs ${command.positional}\nUsage: ${command.usage}` : `unexpected argument "${parsed.positionals[0]}"\nUsage: ${command.usage}`,
      2,
    );
  }
  return { command: name, values: parsed.values, positionals: parsed.positionals };
}

/** A positive integer flag, or undefined when absent. */
export function intFlag(values, name, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`, 2);
  return n;
}

const DURATION_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A time flag: an ISO 8601 timestamp as given, or a duration back from `now` (`30d`, `12h`, `15m`,
 * `90s`, `2w`) as the ISO timestamp it names.
 */
export function timeFlag(values, name, now) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const relative = /^(\d{1,6})([smhdw])$/.exec(raw);
  if (relative) return new Date(now - Number(relative[1]) * DURATION_MS[relative[2]]).toISOString();
  if (!Number.isNaN(Date.parse(raw)) && /^\d{4}-\d{2}-\d{2}T/.test(raw)) return raw;
  throw new UsageError(`--${name} must be an ISO 8601 time (2026-11-01T00:00:00Z) or a duration back from now (30d, 12h, 15m), got "${raw}"`, 2);
}

/** "a:b c:d" or "a:b,c:d" → ["a:b", "c:d"]. */
export function splitScopes(text) {
  return String(text)
    .split(/[\s,]+/)
    .filter(Boolean);
}
