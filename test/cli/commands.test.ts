/**
 * The commands against a scripted server: which credential is sent, request bodies, output
 * (human and --json), errors, and the automatic refresh of a saved login.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { saveCredentials } from "../../bin/lib/config.mjs";
import { fakeFetch, jsonResponse, runCli, tempDir, type Call } from "./helpers";

const BASE = "http://127.0.0.1:9";
const RAW_KEY = "kg_live_0123456789abcdefghijABCDEFGHIJ012345";
const KEY = { id: "key_1", org_id: "org_1", project_id: null, name: "ci", key_prefix: "kg_live_0123", scopes: ["content:read"], preset: null, expires_at: null, last_used_at: null, revoked_at: null, created_at: "2026-11-23T00:00:00.000Z" };

let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
beforeEach(async () => {
  dir = await tempDir();
  env = { KEYGATE_CONFIG_DIR: dir.path };
});
afterEach(() => dir.cleanup());

function savedLogin(overrides: Record<string, unknown> = {}) {
  return saveCredentials(
    { url: BASE, access_token: "kgo_at_old", refresh_token: "kgo_rt_old", expires_at: "2099-01-01T00:00:00.000Z", scope: "keygate:keys:write", org_id: "org_1", project_id: null, client_id: "keygate-cli", ...overrides },
    env,
  );
}

describe("credentials", () => {
  it("KEYGATE_ADMIN_TOKEN is sent as a Bearer token, KEYGATE_API_KEY and --api-key as x-api-key", async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: [], next_cursor: null }));
    await runCli(["keys", "list", "--url", BASE], { env: { ...env, KEYGATE_ADMIN_TOKEN: "admin-secret" }, fetch });
    await runCli(["keys", "list", "--url", BASE], { env: { ...env, KEYGATE_API_KEY: "kg_live_env" }, fetch });
    await runCli(["keys", "list", "--url", BASE, "--api-key", "kg_live_flag"], { env: { ...env, KEYGATE_API_KEY: "kg_live_env" }, fetch });
    expect(calls.map((c) => [c.headers.authorization, c.headers["x-api-key"]])).toEqual([
      ["Bearer admin-secret", undefined],
      [undefined, "kg_live_env"],
      [undefined, "kg_live_flag"],
    ]);
  });

  it("the URL comes from --url, else the saved login, else KEYGATE_URL, else localhost:8787", async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: [], next_cursor: null }));
    const admin = { ...env, KEYGATE_ADMIN_TOKEN: "t" };
    await runCli(["keys", "list"], { env: admin, fetch });
    await runCli(["keys", "list"], { env: { ...admin, KEYGATE_URL: "http://127.0.0.1:7/" }, fetch });
    await savedLogin();
    await runCli(["keys", "list"], { env: { ...admin, KEYGATE_URL: "http://127.0.0.1:7/" }, fetch });
    await runCli(["keys", "list", "--url", "http://127.0.0.1:6"], { env: admin, fetch });
    expect(calls.map((c) => c.url.origin)).toEqual(["http://localhost:8787", "http://127.0.0.1:7", BASE, "http://127.0.0.1:6"]);
  });

  it("never sends the saved token to another URL", async () => {
    await savedLogin();
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: [], next_cursor: null }));
    const result = await runCli(["keys", "list", "--url", "http://127.0.0.1:6"], { env, fetch });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not logged in");
    expect(calls).toHaveLength(0);
  });

  it("refreshes an expired access token first, saves the rotated pair (0600) and uses it", async () => {
    await savedLogin({ expires_at: "2000-01-01T00:00:00.000Z" });
    const { fetch, calls } = fakeFetch((call: Call) =>
      call.url.pathname === "/_keygate/oauth/token"
        ? jsonResponse({ access_token: "kgo_at_new", token_type: "Bearer", expires_in: 3600, refresh_token: "kgo_rt_new", scope: "keygate:keys:write", org_id: "org_1", project_id: null })
        : jsonResponse({ ok: true, data: [KEY], next_cursor: null }),
    );
    const now = Date.parse("2026-11-23T12:00:00.000Z");
    const result = await runCli(["keys", "list"], { env, fetch, now: () => now });
    expect(result.code).toBe(0);
    expect(calls.map((c) => c.url.pathname)).toEqual(["/_keygate/oauth/token", "/_keygate/v1/keys"]);
    expect(Object.fromEntries(new URLSearchParams(calls[0]!.body))).toEqual({ grant_type: "refresh_token", refresh_token: "kgo_rt_old", client_id: "keygate-cli" });
    expect(calls[1]!.headers.authorization).toBe("Bearer kgo_at_new");
    const file = join(dir.path, "credentials.json");
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ access_token: "kgo_at_new", refresh_token: "kgo_rt_new", expires_at: "2026-11-23T13:00:00.000Z" });
    if (process.platform !== "win32") expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("on a 401 refreshes once and retries; a second 401 is reported", async () => {
    await savedLogin();
    const { fetch, calls } = fakeFetch((call: Call) =>
      call.url.pathname === "/_keygate/oauth/token"
        ? jsonResponse({ access_token: "kgo_at_new", token_type: "Bearer", expires_in: 3600, refresh_token: "kgo_rt_new", scope: "s", org_id: "org_1", project_id: null })
        : jsonResponse({ ok: false, code: "UNAUTHORIZED", message: "invalid token" }, 401),
    );
    const result = await runCli(["keys", "list"], { env, fetch });
    expect(calls.map((c) => [c.url.pathname, c.headers.authorization ?? null])).toEqual([
      ["/_keygate/v1/keys", "Bearer kgo_at_old"],
      ["/_keygate/oauth/token", null],
      ["/_keygate/v1/keys", "Bearer kgo_at_new"],
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: UNAUTHORIZED: invalid token (HTTP 401)\n");
  });

  it("a refresh token that was revoked asks to log in again", async () => {
    await savedLogin({ expires_at: "2000-01-01T00:00:00.000Z" });
    const { fetch } = fakeFetch(() => jsonResponse({ error: "invalid_grant", error_description: "refresh token revoked" }, 400));
    const result = await runCli(["whoami"], { env, fetch });
    expect(result).toMatchObject({ code: 1, stderr: "error: your login has expired or was revoked; run keygate login\n" });
  });
});

describe("keys", () => {
  const admin = () => ({ ...env, KEYGATE_ADMIN_TOKEN: "admin-secret" });

  it("create sends the body and prints the raw key once with a warning", async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: { ...KEY, key: RAW_KEY } }, 201));
    const argv = ["keys", "create", "--url", BASE, "--org", "org_1", "--name", "ci", "--scopes", "content:read stories:read", "--project", "p1", "--ip", "10.0.0.0/8", "--ip", "192.0.2.1", "--origin", "https://a.example", "--expires", "2027-01-01T00:00:00Z"];
    const result = await runCli(argv, { env: admin(), fetch });
    expect(result.code).toBe(0);
    expect(calls[0]!.method).toBe("POST");
    expect(calls[0]!.url.pathname).toBe("/_keygate/v1/keys");
    expect(calls[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(calls[0]!.body)).toEqual({
      name: "ci",
      scopes: ["content:read", "stories:read"],
      org_id: "org_1",
      project_id: "p1",
      allowed_ips: ["10.0.0.0/8", "192.0.2.1"],
      allowed_origins: ["https://a.example"],
      expires_at: "2027-01-01T00:00:00Z",
    });
    expect(result.stdout).toContain(`\n  ${RAW_KEY}\n`);
    expect(result.stderr).toContain("it will not be shown again");
  });

  it("create --json prints the API's data object", async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: { ...KEY, key: RAW_KEY } }, 201));
    const result = await runCli(["keys", "create", "--url", BASE, "--name", "ci", "--preset", "read-only", "--json"], { env: admin(), fetch });
    expect(JSON.parse(calls[0]!.body)).toEqual({ name: "ci", preset: "read-only" });
    expect(JSON.parse(result.stdout)).toEqual({ ...KEY, key: RAW_KEY });
  });

  it("create needs --name and exactly one of --scopes/--preset", async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse({}));
    expect((await runCli(["keys", "create", "--scopes", "a:b"], { env: admin(), fetch })).stderr).toContain("--name is required");
    expect((await runCli(["keys", "create", "--name", "n"], { env: admin(), fetch })).code).toBe(2);
    expect((await runCli(["keys", "create", "--name", "n", "--scopes", "a:b", "--preset", "p"], { env: admin(), fetch })).stderr).toContain("exactly one of --scopes and --preset");
    expect(calls).toHaveLength(0);
  });

  it("an API error prints code: message and each issue to stderr, exit 1", async () => {
    const { fetch } = fakeFetch(() =>
      jsonResponse({ ok: false, code: "BAD_REQUEST", message: "invalid request", details: { issues: [{ path: "scopes.0", message: "unknown scope" }] } }, 400),
    );
    const result = await runCli(["keys", "create", "--url", BASE, "--name", "n", "--scopes", "x:y"], { env: admin(), fetch });
    expect(result).toEqual({ code: 1, stdout: "", stderr: "error: BAD_REQUEST: invalid request (HTTP 400)\n  scopes.0: unknown scope\n" });
  });

  it("a network error says which URL could not be reached", async () => {
    const fetch = async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    };
    const result = await runCli(["keys", "list", "--url", BASE], { env: admin(), fetch });
    expect(result).toMatchObject({ code: 1, stderr: `error: cannot reach ${BASE}: connection refused (is the Worker running?)\n` });
  });

  it("list --all follows next_cursor and prints a table", async () => {
    const pages: Record<string, unknown> = {
      "": { ok: true, data: [KEY], next_cursor: "c2" },
      c2: { ok: true, data: [{ ...KEY, id: "key_2", name: "old", revoked_at: "2026-11-01T00:00:00.000Z", requests_24h: 3 }], next_cursor: null },
    };
    const { fetch, calls } = fakeFetch((call: Call) => jsonResponse(pages[call.url.searchParams.get("cursor") ?? ""]));
    const result = await runCli(["keys", "list", "--url", BASE, "--all", "--org", "org_1"], { env: admin(), fetch });
    expect(calls.map((c) => c.url.search)).toEqual(["?org_id=org_1&limit=1000", "?org_id=org_1&limit=1000&cursor=c2"]);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^id\s+name\s+prefix\s+scopes\s+last_used_at\s+requests_24h\s+state$/);
    expect(lines[1]).toMatch(/^key_1\s+ci\s+kg_live_0123\s+content:read\s+-\s+-\s+active$/);
    expect(lines[2]).toMatch(/^key_2\s+old .* 3\s+revoked 2026-11-01T00:00:00.000Z$/);
  });

  it("list without --all mentions the next page; --json prints data and next_cursor", async () => {
    const { fetch } = fakeFetch(() => jsonResponse({ ok: true, data: [KEY], next_cursor: "c2" }));
    expect((await runCli(["keys", "list", "--url", BASE, "--limit", "1"], { env: admin(), fetch })).stderr).toContain("--cursor c2");
    const json = await runCli(["keys", "list", "--url", BASE, "--json"], { env: admin(), fetch });
    expect(JSON.parse(json.stdout)).toEqual({ data: [KEY], next_cursor: "c2" });
  });

  it("rotate posts grace_seconds and scopes and shows the new key; revoke deletes", async () => {
    const { fetch, calls } = fakeFetch((call: Call) =>
      call.method === "DELETE" ? jsonResponse({ ok: true, data: { ...KEY, revoked_at: "2026-11-23T00:00:00.000Z" } }) : jsonResponse({ ok: true, data: { ...KEY, id: "key_9", key: RAW_KEY } }, 201),
    );
    const rotated = await runCli(["keys", "rotate", "key_1", "--url", BASE, "--grace", "3600", "--scopes", "content:read"], { env: admin(), fetch });
    expect(rotated.code).toBe(0);
    expect(calls[0]!.url.pathname).toBe("/_keygate/v1/keys/key_1/rotate");
    expect(JSON.parse(calls[0]!.body)).toEqual({ grace_seconds: 3600, scopes: ["content:read"] });
    expect(rotated.stdout).toContain(RAW_KEY);
    const revoked = await runCli(["keys", "revoke", "key_1", "--url", BASE], { env: admin(), fetch });
    expect(calls[1]!.method).toBe("DELETE");
    expect(calls[1]!.url.pathname).toBe("/_keygate/v1/keys/key_1");
    expect(revoked.stdout).toBe("Revoked key key_1 at 2026-11-23T00:00:00.000Z.\n");
  });
});

describe("whoami and logout", () => {
  it("whoami shows userinfo; it needs a login", async () => {
    expect(await runCli(["whoami"], { env })).toMatchObject({ code: 1, stderr: "error: not logged in; run keygate login\n" });
    await savedLogin();
    const data = { user_id: "u1", email: "a@example.com", org_id: "org_1", project_id: null, scopes: ["keygate:keys:write"], expires_at: "2099-01-01T00:00:00.000Z", client_id: "keygate-cli" };
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data }));
    const result = await runCli(["whoami"], { env, fetch });
    expect(calls[0]!.url.href).toBe(`${BASE}/_keygate/oauth/userinfo`);
    expect(result.stdout).toMatch(/email\s+a@example.com/);
    expect(result.stdout).not.toContain("kgo_");
    expect(JSON.parse((await runCli(["whoami", "--json"], { env, fetch })).stdout)).toEqual(data);
  });

  it("whoami uses the saved login even when KEYGATE_ADMIN_TOKEN is set", async () => {
    await savedLogin();
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: { email: "a@example.com", scopes: [] } }));
    const result = await runCli(["whoami"], { env: { ...env, KEYGATE_ADMIN_TOKEN: "admin-secret" }, fetch });
    expect(result.code).toBe(0);
    expect(calls[0]!.headers.authorization).toBe("Bearer kgo_at_old");
  });

  it("logout revokes both tokens and deletes the file", async () => {
    await savedLogin();
    const { fetch, calls } = fakeFetch(() => jsonResponse({}));
    const result = await runCli(["logout"], { env, fetch });
    expect(result.code).toBe(0);
    const sent = calls.map((c) => [c.url.pathname, new URLSearchParams(c.body).get("token"), new URLSearchParams(c.body).get("client_id")]);
    expect(sent).toEqual([
      ["/_keygate/oauth/revoke", "kgo_rt_old", "keygate-cli"],
      ["/_keygate/oauth/revoke", "kgo_at_old", "keygate-cli"],
    ]);
    await expect(stat(join(dir.path, "credentials.json"))).rejects.toThrow();
    expect((await runCli(["logout"], { env, fetch })).stdout).toBe("Not logged in.\n");
  });
});

describe("audit", () => {
  const admin = () => ({ ...env, KEYGATE_ADMIN_TOKEN: "admin-secret" });
  const event = (id: string, ts: string, extra: Record<string, unknown> = {}) => ({ id, ts, outcome: "allowed", status: 200, method: "GET", path: "/api/x", key_prefix: "kg_live_0123", reason: null, ...extra });

  it("tail prints the latest events oldest first, then only new ones", async () => {
    const polls = [
      [event("evt_2", "2026-11-23T00:00:02.000Z"), event("evt_1", "2026-11-23T00:00:01.000Z", { outcome: "denied", status: 403, reason: "insufficient_scope" })],
      [event("evt_3", "2026-11-23T00:00:03.000Z"), event("evt_2", "2026-11-23T00:00:02.000Z")],
      [event("evt_3", "2026-11-23T00:00:03.000Z")],
    ];
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: polls.shift() ?? [], next_cursor: null }));
    const sleeps: number[] = [];
    const result = await runCli(["audit", "tail", "--url", BASE, "--outcome", "allowed", "--interval", "3", "--max-polls", "3"], {
      env: admin(),
      fetch,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "2026-11-23T00:00:01.000Z denied 403 GET /api/x kg_live_0123 insufficient_scope",
        "2026-11-23T00:00:02.000Z allowed 200 GET /api/x kg_live_0123",
        "2026-11-23T00:00:03.000Z allowed 200 GET /api/x kg_live_0123",
        "",
      ].join("\n"),
    );
    expect(sleeps).toEqual([3000, 3000]);
    expect(calls[0]!.url.search).toBe("?outcome=allowed&limit=20");
    expect(calls[1]!.url.searchParams.get("since")).toBe("2026-11-23T00:00:02.000Z");
    expect(calls[2]!.url.searchParams.get("since")).toBe("2026-11-23T00:00:03.000Z");
  });

  it("tail with an empty log at first prints events as they come, without relying on the local clock", async () => {
    const polls = [[], [event("evt_1", "2026-11-23T00:00:01.000Z")], [event("evt_1", "2026-11-23T00:00:01.000Z")]];
    const { fetch, calls } = fakeFetch(() => jsonResponse({ ok: true, data: polls.shift() ?? [], next_cursor: null }));
    const result = await runCli(["audit", "tail", "--url", BASE, "--max-polls", "3"], { env: admin(), fetch });
    expect(result.stdout).toBe("2026-11-23T00:00:01.000Z allowed 200 GET /api/x kg_live_0123\n");
    expect(calls.map((c) => c.url.searchParams.get("since"))).toEqual([null, null, "2026-11-23T00:00:01.000Z"]);
  });

  it("tail --once --json prints one JSON event per line", async () => {
    const { fetch } = fakeFetch(() => jsonResponse({ ok: true, data: [event("evt_2", "t2"), event("evt_1", "t1")], next_cursor: null }));
    const result = await runCli(["audit", "tail", "--url", BASE, "--once", "--json"], { env: admin(), fetch });
    expect(result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).id)).toEqual(["evt_1", "evt_2"]);
  });

  it("export streams the body to stdout, or to --out", async () => {
    const body = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"id":"evt_1"}\n'));
            controller.enqueue(new TextEncoder().encode('{"id":"evt_2"}\n'));
            controller.close();
          },
        }),
        { headers: { "content-type": "application/x-ndjson" } },
      );
    const { fetch, calls } = fakeFetch(body);
    const result = await runCli(["audit", "export", "--url", BASE, "--since", "2026-11-01T00:00:00Z"], { env: admin(), fetch });
    expect(result.stdout).toBe('{"id":"evt_1"}\n{"id":"evt_2"}\n');
    expect(calls[0]!.url.search).toBe("?since=2026-11-01T00%3A00%3A00Z&format=ndjson");
    const out = join(dir.path, "audit.csv");
    const toFile = await runCli(["audit", "export", "--url", BASE, "--format", "csv", "--out", out], { env: admin(), fetch });
    expect(toFile.code).toBe(0);
    expect(calls[1]!.url.searchParams.get("format")).toBe("csv");
    expect(await readFile(out, "utf8")).toBe('{"id":"evt_1"}\n{"id":"evt_2"}\n');
  });

  it("tail escapes C0 and C1 control characters of stored fields, so a path cannot drive the terminal or forge lines", async () => {
    const forged = "/api/\u001b[2J\u001b]0;pwned\u0007\n2026-11-23T00:00:09.000Z allowed 200 GET /fake\u009b31m\\x1b";
    const { fetch } = fakeFetch(() => jsonResponse({ ok: true, data: [event("evt_1", "2026-11-23T00:00:01.000Z", { path: forged, reason: "r\r\u007f" })], next_cursor: null }));
    const result = await runCli(["audit", "tail", "--url", BASE, "--once"], { env: admin(), fetch });
    expect(result.stdout).toBe(
      "2026-11-23T00:00:01.000Z allowed 200 GET /api/\\x1b[2J\\x1b]0;pwned\\x07\\x0a2026-11-23T00:00:09.000Z allowed 200 GET /fake\\x9b31m\\\\x1b kg_live_0123 r\\x0d\\x7f\n",
    );
    expect(result.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const json = await runCli(["audit", "tail", "--url", BASE, "--once", "--json"], { env: admin(), fetch });
    expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(JSON.parse(json.stdout).path).toBe(forged);
  });

  it("export --since 30d asks for the time 30 days back", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("", { headers: { "content-type": "application/x-ndjson" } }));
    const now = Date.parse("2026-12-01T10:00:00.000Z");
    const result = await runCli(["audit", "export", "--url", BASE, "--since", "30d", "--until", "1h"], { env: admin(), fetch, now: () => now });
    expect(result.code).toBe(0);
    expect(calls[0]!.url.searchParams.get("since")).toBe("2026-11-01T10:00:00.000Z");
    expect(calls[0]!.url.searchParams.get("until")).toBe("2026-12-01T09:00:00.000Z");
    const bad = await runCli(["audit", "export", "--url", BASE, "--since", "30 days"], { env: admin(), fetch });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since must be");
  });

  it("a cut-off export fails and leaves no file", async () => {
    const { fetch } = fakeFetch(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("id,ts\n"));
              controller.error(new Error("D1 went away"));
            },
          }),
        ),
    );
    const out = join(dir.path, "audit.csv");
    const result = await runCli(["audit", "export", "--url", BASE, "--format", "csv", "--out", out], { env: admin(), fetch });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the export was cut off");
    await expect(stat(out)).rejects.toThrow();
    await expect(stat(`${out}.partial`)).rejects.toThrow();
  });
});
