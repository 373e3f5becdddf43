/**
 * The device-flow polling loop against a scripted token endpoint: pace, slow_down, and the ways
 * it ends.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEVICE_GRANT, pollForToken } from "../../bin/lib/device.mjs";
import { ApiError, UsageError } from "../../bin/lib/http.mjs";
import { fakeFetch, jsonResponse, runCli, tempDir, type Call } from "./helpers";

const URL_ = "http://127.0.0.1:9";
const DEVICE = { device_code: "dc_secret", user_code: "ABCD-EFGH", verification_uri: `${URL_}/_keygate/oauth/device`, verification_uri_complete: `${URL_}/_keygate/oauth/device?user_code=ABCD-EFGH`, expires_in: 600, interval: 5 };
const TOKENS = { access_token: "kgo_at_access", token_type: "Bearer", expires_in: 3600, refresh_token: "kgo_rt_refresh", scope: "keygate:keys:write", org_id: "org_1", project_id: null };

function oauthError(error: string) {
  return jsonResponse({ error, error_description: error.replace(/_/g, " ") }, 400);
}

/** A token endpoint answering the scripted errors in turn, then tokens; with a fake clock. */
function scripted(answers: string[]) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const { fetch, calls } = fakeFetch(() => {
    const next = answers.shift();
    return next === undefined ? jsonResponse(TOKENS) : oauthError(next);
  });
  return {
    fetch,
    calls,
    sleeps,
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
}

describe("pollForToken", () => {
  it("waits the interval before each poll and returns the tokens", async () => {
    const s = scripted(["authorization_pending", "authorization_pending"]);
    const tokens = await pollForToken({ fetch: s.fetch, url: URL_, clientId: "keygate-cli", device: DEVICE, sleep: s.sleep, now: s.now });
    expect(tokens).toEqual(TOKENS);
    expect(s.sleeps).toEqual([5000, 5000, 5000]);
    expect(s.calls).toHaveLength(3);
    const form = new URLSearchParams(s.calls[0]!.body);
    expect(s.calls[0]!.url.pathname).toBe("/_keygate/oauth/token");
    expect(s.calls[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(form)).toEqual({ grant_type: DEVICE_GRANT, device_code: "dc_secret", client_id: "keygate-cli" });
  });

  it("adds 5 s to the interval for every slow_down, and keeps it", async () => {
    const s = scripted(["slow_down", "authorization_pending", "slow_down", "authorization_pending"]);
    await pollForToken({ fetch: s.fetch, url: URL_, clientId: "c", device: DEVICE, sleep: s.sleep, now: s.now });
    expect(s.sleeps).toEqual([5000, 10000, 10000, 15000, 15000]);
  });

  it.each([
    ["access_denied", /denied in the browser/],
    ["expired_token", /code expired/],
  ])("stops on %s with a clear message", async (error, message) => {
    const s = scripted(["authorization_pending", error]);
    const polling = pollForToken({ fetch: s.fetch, url: URL_, clientId: "c", device: DEVICE, sleep: s.sleep, now: s.now });
    await expect(polling).rejects.toBeInstanceOf(UsageError);
    await expect(pollForToken({ fetch: scripted([error]).fetch, url: URL_, clientId: "c", device: DEVICE, sleep: async () => {} })).rejects.toThrow(message);
    expect(s.calls).toHaveLength(2);
  });

  it("stops on any other error as an API error", async () => {
    const s = scripted(["invalid_grant"]);
    const error = await pollForToken({ fetch: s.fetch, url: URL_, clientId: "c", device: DEVICE, sleep: s.sleep, now: s.now }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as { code: string }).code).toBe("invalid_grant");
  });

  it("gives up once expires_in has passed, without waiting on the server", async () => {
    const s = scripted(Array(500).fill("authorization_pending"));
    await expect(pollForToken({ fetch: s.fetch, url: URL_, clientId: "c", device: { ...DEVICE, expires_in: 12 }, sleep: s.sleep, now: s.now })).rejects.toThrow(/expired/);
    expect(s.calls).toHaveLength(2);
  });
});

describe("keygate login (fake server)", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.cleanup());

  function server(tokenAnswers: string[]) {
    return fakeFetch((call: Call) => {
      if (call.url.pathname === "/_keygate/oauth/device/code") return jsonResponse(DEVICE);
      if (call.url.pathname === "/_keygate/oauth/token") {
        const next = tokenAnswers.shift();
        return next === undefined ? jsonResponse(TOKENS) : oauthError(next);
      }
      return jsonResponse({ ok: false, code: "NOT_FOUND", message: "not found" }, 404);
    });
  }

  it("prints the URL and code, polls, and saves the login with mode 0600", async () => {
    const { fetch, calls } = server(["authorization_pending", "slow_down"]);
    const env = { KEYGATE_CONFIG_DIR: dir.path };
    const result = await runCli(["login", "--url", URL_, "--org", "org_1", "--scope", "keygate:keys:write,keygate:audit:read"], { env, fetch, now: () => 0 });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Open ${DEVICE.verification_uri_complete} and confirm code ABCD-EFGH`);
    expect(result.stdout).not.toContain("kgo_");
    expect(Object.fromEntries(new URLSearchParams(calls[0]!.body))).toEqual({ client_id: "keygate-cli", scope: "keygate:keys:write keygate:audit:read", org_id: "org_1" });
    const file = join(dir.path, "credentials.json");
    if (process.platform !== "win32") expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      url: URL_,
      access_token: "kgo_at_access",
      refresh_token: "kgo_rt_refresh",
      expires_at: new Date(3_600_000).toISOString(),
      scope: "keygate:keys:write",
      org_id: "org_1",
      project_id: null,
      client_id: "keygate-cli",
    });
  });

  it("exits 1 without saving when the user denies", async () => {
    const { fetch } = server(["authorization_pending", "access_denied"]);
    const result = await runCli(["login", "--url", URL_], { env: { KEYGATE_CONFIG_DIR: dir.path }, fetch });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: the request was denied in the browser");
    await expect(stat(join(dir.path, "credentials.json"))).rejects.toThrow();
  });

  it("--json keeps stdout to the result and prints the prompt on stderr", async () => {
    const { fetch } = server([]);
    const result = await runCli(["login", "--url", URL_, "--json"], { env: { KEYGATE_CONFIG_DIR: dir.path }, fetch });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("confirm code ABCD-EFGH");
    expect(JSON.parse(result.stdout)).toMatchObject({ url: URL_, org_id: "org_1", scope: "keygate:keys:write" });
  });

  it("reports an invalid_scope from the device code endpoint", async () => {
    const { fetch } = fakeFetch(() => oauthError("invalid_scope"));
    const result = await runCli(["login", "--url", URL_, "--scope", "nope:nope"], { env: { KEYGATE_CONFIG_DIR: dir.path }, fetch });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: invalid_scope: invalid scope (HTTP 400)");
  });
});
