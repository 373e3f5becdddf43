#!/usr/bin/env node
/**
 * `npm run dev`: the gateway on this machine, on wrangler's embedded (miniflare) D1, KV and Queues.
 *
 *   1. applies the D1 migrations to the local database (.wrangler/state);
 *   2. creates .dev.vars with a random ADMIN_TOKEN and BETTER_AUTH_SECRET and ECHO=1 when it lacks
 *      them (wrangler dev reads it; ECHO is for local development only, never in wrangler.toml);
 *   3. starts `wrangler dev` (port 8787, or `--port N`, or $PORT) and streams its output; other
 *      arguments are passed on (`npm run dev -- --ip 0.0.0.0`);
 *   4. once /_keygate/health answers and no org exists yet, creates a demo org, a demo project
 *      (`demo`) and an admin-capable demo key through the admin API, saving the raw key (shown only
 *      once by the API) to .wrangler/demo-key.txt so later runs print it again; and a demo console
 *      user, owner of the demo org: invited with ADMIN_TOKEN, registered through better-auth with
 *      the invitation link's secret (sign-up is invite-only by default), and joined by accepting the
 *      link as the console's Accept button does; its random password is saved to
 *      .wrangler/demo-user.txt;
 *   5. prints the admin token's location, the demo key, the demo user and curl lines to try.
 *
 * Without ORIGIN_URL the gateway answers with an echo of what it would forward (.dev.vars sets
 * ECHO=1). Set ORIGIN_URL in .dev.vars (with ORIGIN_SECRET) or in the environment to forward to a
 * real origin. Ctrl-C stops wrangler.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const DEV_VARS = join(root, ".dev.vars");
const DEMO_KEY_FILE = join(root, ".wrangler", "demo-key.txt");
const DEMO_USER_FILE = join(root, ".wrangler", "demo-user.txt");
const DEMO_EMAIL = "demo@keygate.local";
const DATABASE = "keygate";
const { port: PORT_ARG, rest: WRANGLER_ARGS } = takePortArg(process.argv.slice(2));
const PORT = Number(PORT_ARG ?? (process.env.PORT || 8787));
const BASE = `http://localhost:${PORT}`;
const HEALTH_TIMEOUT_MS = 120_000;
const DEMO_PROJECT_ID = "demo";
const DEMO_SCOPES = [
  "keygate:keys:write",
  "keygate:projects:write",
  "keygate:audit:read",
  "content:read",
  "stories:read",
  "stories:publish",
];
// On Windows the npm shims are .cmd files, which spawn finds only through a shell.
const WRANGLER = process.platform === "win32" ? "wrangler.cmd" : "wrangler";
const SPAWN_SHELL = process.platform === "win32";

/** Env for wrangler: no usage metrics from local development unless asked for. */
const wranglerEnv = { WRANGLER_SEND_METRICS: "false", ...process.env };

let devProcess;
let stopping = false;

async function main() {
  if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) fail(`the port must be a number in [1, 65535], got "${PORT_ARG ?? process.env.PORT}"`);

  await assertPortFree(PORT);
  const adminToken = await ensureDevVars();
  await applyMigrations();

  const vars = { ...parseDotenv(await readFile(DEV_VARS, "utf8")), ...pick(process.env, ["ORIGIN_URL"]) };
  const args = ["dev", "--local", "--port", String(PORT), "--show-interactive-dev-session=false"];
  // An ORIGIN_URL from the environment reaches the Worker as a var (.dev.vars is read by wrangler).
  if (process.env.ORIGIN_URL) args.push("--var", `ORIGIN_URL:${process.env.ORIGIN_URL}`);
  args.push(...WRANGLER_ARGS);

  log(`starting wrangler ${args.join(" ")}`);
  devProcess = spawn(WRANGLER, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: wranglerEnv, shell: SPAWN_SHELL });
  const exited = new Promise((resolve) => {
    devProcess.on("exit", (code, signal) => resolve({ code, signal }));
    devProcess.on("error", (error) => resolve({ code: 1, error }));
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
  exited.then(({ code, signal, error }) => {
    if (error) console.error(`[keygate dev] could not start wrangler: ${error.message}`);
    else if (!stopping) log(`wrangler exited (${signal ?? `code ${code}`})`);
    process.exit(stopping ? 0 : code ?? 1);
  });

  const health = await waitForHealth(exited);
  if (!health.ok) {
    log(`warning: /_keygate/health answered ${health.status}: ${JSON.stringify(health.body)}`);
  }
  let demo;
  try {
    demo = await ensureDemo(adminToken);
  } catch (error) {
    log(`warning: could not set up the demo org, project and key: ${/** @type {Error} */ (error).message}`);
  }
  let demoUser;
  try {
    demoUser = await ensureDemoUser(adminToken, demo?.orgId);
  } catch (error) {
    log(`warning: could not set up the demo console user: ${/** @type {Error} */ (error).message}`);
  }
  printBanner({ adminToken, demo, demoUser, forwarding: Boolean(vars.ORIGIN_URL), originUrl: vars.ORIGIN_URL });
}

/** What .dev.vars must hold, with how to make each (random secrets; echo mode for local use). */
const DEV_VARS_DEFAULTS = {
  ADMIN_TOKEN: () => `dev_${randomBytes(24).toString("hex")}`,
  BETTER_AUTH_SECRET: () => randomBytes(32).toString("hex"),
  ECHO: () => "1",
};

/** `--port N` / `--port=N` (the wrangler convention) taken out of the arguments passed on. */
function takePortArg(argv) {
  const rest = [];
  let port;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port" || arg === "-p") port = argv[++i];
    else if (arg.startsWith("--port=")) port = arg.slice("--port=".length);
    else rest.push(arg);
  }
  return { port, rest };
}

/** Returns the ADMIN_TOKEN of .dev.vars, creating the file and adding missing secrets when needed. */
async function ensureDevVars() {
  if (!existsSync(DEV_VARS)) {
    await writeFile(DEV_VARS, "# Local secrets for wrangler dev (gitignored). Created by npm run dev.\n", { mode: 0o600 });
    log("created .dev.vars");
  }
  const vars = parseDotenv(await readFile(DEV_VARS, "utf8"));
  for (const [name, makeValue] of Object.entries(DEV_VARS_DEFAULTS)) {
    if (vars[name]) continue;
    vars[name] = makeValue();
    const text = await readFile(DEV_VARS, "utf8");
    await appendFile(DEV_VARS, `${text === "" || text.endsWith("\n") ? "" : "\n"}${name}=${vars[name]}\n`);
    log(`added ${name} to .dev.vars`);
  }
  return vars.ADMIN_TOKEN;
}

/**
 * `wrangler d1 migrations apply keygate --local`, without the confirmation prompt.
 * @returns {Promise<void>}
 */
function applyMigrations() {
  log("applying D1 migrations to the local database");
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, ["d1", "migrations", "apply", DATABASE, "--local"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...wranglerEnv, CI: "true" },
      shell: SPAWN_SHELL,
    });
    const onSignal = () => child.kill("SIGINT");
    process.once("SIGINT", onSignal);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onSignal);
      if (code === 0) resolve();
      else reject(new Error(`wrangler d1 migrations apply failed (${signal ?? `code ${code}`})`));
    });
  });
}

function assertPortFree(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (/** @type {NodeJS.ErrnoException} */ error) =>
      reject(new Error(error.code === "EADDRINUSE" ? `port ${port} is in use; free it or run PORT=<port> npm run dev` : error.message)),
    );
    server.listen(port, () => server.close(resolve));
  });
}

/** Polls /_keygate/health until it answers (any status), or wrangler exits, or time runs out. */
async function waitForHealth(exited) {
  let done = false;
  exited.then(() => (done = true));
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (!done && Date.now() < deadline) {
    try {
      const response = await fetch(`${BASE}/_keygate/health`, { signal: AbortSignal.timeout(5_000) });
      const body = await response.json().catch(() => null);
      if (body && typeof body === "object" && "ok" in body) return { ok: response.ok, status: response.status, body };
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  if (done) return new Promise(() => {}); // the exit handler ends the process
  throw new Error(`/_keygate/health did not answer within ${HEALTH_TIMEOUT_MS / 1000} s`);
}

/**
 * Creates the demo org, project and key when no org exists; otherwise returns the saved key if it
 * still works. Never touches existing data.
 */
async function ensureDemo(adminToken) {
  const admin = { authorization: `Bearer ${adminToken}` };
  const orgs = await call("GET", "/_keygate/v1/orgs?limit=1", admin);
  if (orgs.data.length === 0) {
    const org = (await call("POST", "/_keygate/v1/orgs", admin, { name: "Demo org" })).data;
    await call("POST", "/_keygate/v1/projects", admin, { org_id: org.id, name: "Demo project", id: DEMO_PROJECT_ID });
    const key = (
      await call("POST", "/_keygate/v1/keys", admin, { org_id: org.id, name: "Demo admin key (npm run dev)", scopes: DEMO_SCOPES })
    ).data;
    await mkdir(dirname(DEMO_KEY_FILE), { recursive: true });
    await writeFile(DEMO_KEY_FILE, `${key.key}\n`, { mode: 0o600 });
    log(`created demo org ${org.id}, project "${DEMO_PROJECT_ID}" and key ${key.id}; the key is saved in .wrangler/demo-key.txt`);
    return { key: key.key, created: true, orgId: org.id };
  }

  const saved = existsSync(DEMO_KEY_FILE) ? (await readFile(DEMO_KEY_FILE, "utf8")).trim() : "";
  if (!saved) return { problem: "orgs exist but no demo key was saved (.wrangler/demo-key.txt)" };
  const check = await fetch(`${BASE}/_keygate/v1/keys?limit=1`, { headers: { "x-api-key": saved } });
  if (!check.ok) {
    const body = /** @type {{ message?: string }} */ (await check.json().catch(() => ({})));
    return { problem: `the saved demo key in .wrangler/demo-key.txt is rejected (${check.status} ${body.message ?? ""})`.trim() };
  }
  return { key: saved, created: false };
}

/**
 * The demo console user: on the run that created the demo org, invites demo@keygate.local as its
 * owner with ADMIN_TOKEN, registers it with a random password (saved to .wrangler/demo-user.txt) and
 * the invitation link's secret, and accepts the link; on later runs, the saved credentials.
 */
async function ensureDemoUser(adminToken, newOrgId) {
  if (!newOrgId) {
    if (!existsSync(DEMO_USER_FILE)) return undefined;
    const [email, password] = (await readFile(DEMO_USER_FILE, "utf8")).trim().split("\n");
    return { email, password, created: false };
  }
  const admin = { authorization: `Bearer ${adminToken}` };
  const invitation = (await call("POST", `/_keygate/v1/orgs/${newOrgId}/invitations`, admin, { email: DEMO_EMAIL, role: "owner" })).data;
  const password = randomBytes(12).toString("base64url");
  // better-auth checks the Origin of its endpoints, the console its form posts; the Worker's own origin is trusted.
  const browser = { origin: BASE };
  const invitationToken = new URL(invitation.accept_url).pathname.split("/").pop();
  const registered = await authCall("/sign-up/email", browser, { name: "Demo user", email: DEMO_EMAIL, password, invitationToken });
  const cookie = registered.headers.getSetCookie().map((line) => line.split(";", 1)[0]).join("; ");
  // Registering joins nothing: accepting the link (the console's Accept button) makes the user the org's owner.
  const accepted = await fetch(`${BASE}${new URL(invitation.accept_url).pathname}`, {
    method: "POST",
    headers: { ...browser, cookie, "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
  });
  if (accepted.status !== 303) throw new Error(`accepting the demo invitation answered ${accepted.status}`);
  await mkdir(dirname(DEMO_USER_FILE), { recursive: true });
  await writeFile(DEMO_USER_FILE, `${DEMO_EMAIL}\n${password}\n`, { mode: 0o600 });
  log(`created demo console user ${DEMO_EMAIL}, owner of the demo org; the password is saved in .wrangler/demo-user.txt`);
  return { email: DEMO_EMAIL, password, created: true };
}

/** A better-auth call (its own response shapes); throws unless it answers 200. */
async function authCall(path, headers, body) {
  const response = await fetch(`${BASE}/_keygate/auth${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`POST /_keygate/auth${path} answered ${response.status}: ${await response.text()}`);
  return response;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {Record<string, string>} headers
 * @param {Record<string, unknown>} [body]
 * @returns {Promise<any>} the answer's JSON
 */
async function call(method, path, headers, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { ...headers, ...(body && { "content-type": "application/json" }) },
    body: body && JSON.stringify(body),
  });
  const json = /** @type {any} */ (await response.json().catch(() => null));
  if (!response.ok || !json?.ok) {
    throw new Error(`${method} ${path} answered ${response.status}: ${json ? JSON.stringify(json) : "(not JSON)"}`);
  }
  return json;
}

function printBanner({ adminToken, demo, demoUser, forwarding, originUrl }) {
  const host = `localhost:${PORT}`;
  const line = "=".repeat(78);
  const out = [
    "",
    line,
    `  Keygate is running at http://${host}`,
    forwarding
      ? `  Allowed requests are forwarded to ORIGIN_URL = ${originUrl}`
      : "  Echo mode: allowed requests are answered with what would be forwarded (no ORIGIN_URL).",
    "",
    `  ADMIN_TOKEN: in .dev.vars (${adminToken.slice(0, 8)}…); use it as  authorization: Bearer <token>`,
  ];
  if (demo?.key) {
    out.push(
      `  Demo key${demo.created ? " (new)" : ""}, also saved in .wrangler/demo-key.txt; org "Demo org", project "${DEMO_PROJECT_ID}",`,
      `  scopes: ${DEMO_SCOPES.join(" ")}`,
      "",
      `    export KEY=${demo.key}`,
      "",
      `  # ${forwarding ? "allowed: forwarded to ORIGIN_URL, the origin answers" : "200: the echo, with the x-keygate-* identity headers"}`,
      `  curl -s "${host}/api/v1/site/pages?productId=${DEMO_PROJECT_ID}" -H "x-api-key: $KEY"`,
      "  # 403 insufficient_scope: the key lacks content:write",
      `  curl -s -X POST "${host}/api/v1/site/pages?productId=${DEMO_PROJECT_ID}" -H "x-api-key: $KEY"`,
      "  # 401 missing credentials",
      `  curl -s "${host}/api/v1/site/pages?productId=${DEMO_PROJECT_ID}"`,
      "  # admin API with the demo key: its org's keys",
      `  curl -s "${host}/_keygate/v1/keys" -H "authorization: Bearer $KEY"`,
    );
  } else {
    out.push(
      `  No demo key: ${demo?.problem ?? "setting up the demo failed (see the warning above)"}.`,
      "  Start from scratch with  rm -rf .wrangler/state .wrangler/demo-key.txt  or use ADMIN_TOKEN:",
      `    curl -s "${host}/_keygate/v1/orgs" -H "authorization: Bearer $(grep '^ADMIN_TOKEN=' .dev.vars | cut -d= -f2-)"`,
    );
  }
  if (demoUser) {
    out.push(
      "",
      `  Demo console user${demoUser.created ? " (new)" : ""}, owner of "Demo org" (also in .wrangler/demo-user.txt):`,
      `    ${demoUser.email}  /  ${demoUser.password}`,
      `  Sign in at http://${host}/_keygate/console, or get a session cookie with`,
      `  curl -si "${host}/_keygate/auth/sign-in/email" -H "origin: http://${host}" -H "content-type: application/json" \\`,
      `    -d '{"email":"${demoUser.email}","password":"${demoUser.password}"}'`,
    );
  }
  out.push("", "  Ctrl-C stops the gateway.", line, "");
  console.log(out.join("\n"));
}

/** Stops wrangler (which stops workerd) and exits once it has. */
function stop(signal) {
  if (stopping) return;
  stopping = true;
  if (!devProcess || devProcess.exitCode !== null || devProcess.signalCode !== null) process.exit(0);
  // Ctrl-C reaches wrangler too (same process group); a kill of this process only reaches us.
  devProcess.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  setTimeout(() => {
    log("wrangler did not stop within 10 s; killing it");
    devProcess.kill("SIGKILL");
    process.exit(1);
  }, 10_000).unref();
}

/**
 * A small dotenv reader: KEY=value, optional `export`, quotes, # comments.
 * @param {string} text
 * @returns {Record<string, string>}
 */
function parseDotenv(text) {
  /** @type {Record<string, string>} */
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!match) continue;
    let value = match[2];
    const quoted = /^(["'`])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2].replace(/\\n/g, "\n") : quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    vars[match[1]] = value;
  }
  return vars;
}

function pick(object, names) {
  return Object.fromEntries(names.filter((name) => object[name]).map((name) => [name, object[name]]));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(message) {
  console.log(`[keygate dev] ${message}`);
}

function fail(message) {
  console.error(`[keygate dev] ${message}`);
  process.exit(1);
}

main().catch((error) => {
  console.error(`[keygate dev] ${error.message}`);
  if (devProcess && devProcess.exitCode === null) stop("SIGTERM");
  else process.exit(1);
});
