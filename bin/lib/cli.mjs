// The CLI as a function: run(argv, io) → exit code. bin/keygate.mjs calls it with the real
// process; tests call it with a fake fetch, a fake clock and captured output.
import { parseCommandLine } from "./args.mjs";
import { HANDLERS } from "./commands.mjs";
import { loadCredentials } from "./config.mjs";
import { sleep } from "./device.mjs";
import { ApiError, createClient, NetworkError, pickAuth, resolveUrl, UsageError } from "./http.mjs";
import { terminalSafeJson } from "./output.mjs";

/**
 * io: { env, fetch, stdout, stderr (writable streams), sleep, now }; all optional.
 */
export async function run(argv, io = {}) {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const out = (text) => stdout.write(`${text}\n`);
  const err = (text) => stderr.write(`${text}\n`);
  let json = false;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.help !== undefined) {
      stdout.write(parsed.help);
      return 0;
    }
    const { command, values, positionals } = parsed;
    json = Boolean(values.json);
    const saved = await loadCredentials(env);
    const url = resolveUrl(values.url, saved, env);
    const auth = pickAuth({ apiKey: values["api-key"], env, saved, url });
    const fetchImpl = io.fetch ?? globalThis.fetch;
    const now = io.now ?? Date.now;
    let client;
    const ctx = {
      values,
      positionals,
      url,
      saved,
      auth,
      env,
      fetch: fetchImpl,
      now,
      sleep: io.sleep ?? sleep,
      stdoutStream: stdout,
      out,
      err,
      json: (value, compact = false) => out(terminalSafeJson(compact ? JSON.stringify(value) : JSON.stringify(value, null, 2))),
      client: () => (client ??= createClient({ url, auth, env, fetch: fetchImpl, now })),
    };
    return await HANDLERS[command](ctx);
  } catch (error) {
    return report(error, err, json);
  }
}

/** Prints an error (never a token) and returns its exit code. */
function report(error, err, json) {
  if (error instanceof ApiError) {
    if (json) err(JSON.stringify({ ok: false, status: error.status, code: error.code, message: error.apiMessage, ...(error.details && { details: error.details }) }));
    else {
      err(`error: ${error.code}: ${error.apiMessage} (HTTP ${error.status})`);
      const issues = error.details?.issues;
      if (Array.isArray(issues)) for (const issue of issues) err(`  ${issue.path}: ${issue.message}`);
      const missing = error.details?.missingScopes;
      if (Array.isArray(missing)) err(`  missing scopes: ${missing.join(" ")}`);
      const reason = error.details?.reason;
      if (typeof reason === "string") err(`  ${reason}`);
    }
    return 1;
  }
  if (error instanceof UsageError || error instanceof NetworkError) {
    err(`error: ${error.message}`);
    return /** @type {{ exitCode?: number }} */ (error).exitCode ?? 1;
  }
  err(`error: ${error?.message ?? error}`);
  return 1;
}
