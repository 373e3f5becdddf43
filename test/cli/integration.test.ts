/**
 * The CLI as a child process against the real Worker started locally (workerd through Miniflare,
 * fresh D1, migrations applied; see local-worker.mjs): `keys create` with KEYGATE_ADMIN_TOKEN, and
 * the whole login: the CLI runs the device flow while the test plays the user (signs up, creates
 * an org, approves the code it reads from the CLI's stdout); then `keys create`, `whoami` and
 * `logout` with the saved token. The created keys must work on a gateway route (echo mode).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnCli, startLocalWorker } from "./local-worker.mjs";
import { tempDir } from "./helpers";

interface LocalWorker {
  url: string;
  adminToken: string;
  dispose: () => Promise<void>;
}

// Started at collection time (top-level await), so `it.skipIf` below sees the probe's answer.
const worker: LocalWorker = await startLocalWorker();
const config = await tempDir();
/** Whether this Worker serves the device flow: probed at runtime, never assumed. */
const oauthAvailable = await probeDeviceFlow(worker.url);

async function probeDeviceFlow(url: string): Promise<boolean> {
  const probe = await fetch(`${url}/_keygate/oauth/device/code`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "client_id=probe&scope=keygate%3Akeys%3Aread",
  }).catch(() => null);
  if (probe?.status !== 200) return false;
  return typeof ((await probe.json()) as { device_code?: unknown }).device_code === "string";
}

afterAll(async () => {
  await worker.dispose();
  await config.cleanup();
});

async function admin(path: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${worker.url}/_keygate/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { ok: boolean; data: { id: string } };
  if (!json.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

/** GET /api/v1/stories (stories:read, project decided by the origin) with `key`: the echo. */
async function useKey(key: string): Promise<{ status: number; echo: { echo?: boolean; headers?: Record<string, string> } }> {
  const res = await fetch(`${worker.url}/api/v1/stories`, { headers: { "x-api-key": key } });
  return { status: res.status, echo: (await res.json()) as { echo?: boolean; headers?: Record<string, string> } };
}

/** All cookies a better-auth response sets, as one Cookie header. */
function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((line) => line.split(";", 1)[0])
    .join("; ");
}

async function authPost(path: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${worker.url}/_keygate/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: worker.url, ...(cookie && { cookie }) },
    body: JSON.stringify(body),
  });
}

describe("keygate against a local Worker", () => {
  it("keys create with KEYGATE_ADMIN_TOKEN prints a key that works at the gateway", async () => {
    const org = await admin("/orgs", { name: "CLI admin org" });
    const cli = spawnCli(["keys", "create", "--url", worker.url, "--org", org.id, "--name", "from-cli", "--scopes", "stories:read", "--json"], {
      KEYGATE_ADMIN_TOKEN: worker.adminToken,
      KEYGATE_CONFIG_DIR: join(config.path, "admin"),
    });
    const { code, stdout, stderr } = await cli.done;
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const created = JSON.parse(stdout) as { id: string; org_id: string; key: string; scopes: string[] };
    expect(created).toMatchObject({ org_id: org.id, scopes: ["stories:read"], key: expect.stringMatching(/^kg_live_/) });
    const { status, echo } = await useKey(created.key);
    expect(status).toBe(200);
    expect(echo.echo).toBe(true);
    expect(echo.headers?.["x-keygate-key-id"]).toBe(created.id);

    const listed = await spawnCli(["keys", "list", "--url", worker.url, "--org", org.id], { KEYGATE_ADMIN_TOKEN: worker.adminToken, KEYGATE_CONFIG_DIR: join(config.path, "admin") }).done;
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${created.id}\\s+from-cli\\s+kg_live_`, "m"));
    expect(listed.stdout).not.toContain(created.key);

    // The gateway call above reaches the audit log (through the Queue); export and tail show it.
    const adminEnv = { KEYGATE_ADMIN_TOKEN: worker.adminToken, KEYGATE_CONFIG_DIR: join(config.path, "admin") };
    let exported = "";
    for (let attempt = 0; attempt < 50 && !exported.includes(created.id); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      const run = await spawnCli(["audit", "export", "--url", worker.url, "--org", org.id, "--key", created.id], adminEnv).done;
      expect(run.code, run.stderr).toBe(0);
      exported = run.stdout;
    }
    const event = JSON.parse(exported.trim().split("\n")[0]!) as Record<string, unknown>;
    expect(event).toMatchObject({ key_id: created.id, outcome: "allowed", status: 200, method: "GET", path: "/api/v1/stories" });
    const tail = await spawnCli(["audit", "tail", "--url", worker.url, "--org", org.id, "--once"], adminEnv).done;
    expect(tail.stdout).toMatch(/ allowed 200 GET \/api\/v1\/stories kg_live_\S+$/m);
  });

  it.skipIf(!oauthAvailable)("login runs the device flow, saves the token (0600), and keys create uses it", async () => {
    const env = { KEYGATE_CONFIG_DIR: join(config.path, "user") };
    const login = spawnCli(["login", "--url", worker.url, "--scope", "keygate:keys:read keygate:keys:write stories:read"], env);

    // Meanwhile, the user: signs up, creates an org (as its owner), and approves the code shown.
    const email = `cli-${crypto.randomUUID()}@example.com`;
    const signUp = await authPost("/sign-up/email", { name: "CLI User", email, password: "correct horse battery staple" });
    expect(signUp.status).toBe(200);
    const cookie = cookiesOf(signUp);
    const orgRes = await authPost("/organization/create", { name: "CLI org", slug: `cli-${crypto.randomUUID()}` }, cookie);
    expect(orgRes.status).toBe(200);
    const orgId = ((await orgRes.json()) as { id: string }).id;

    const [prompt, verificationUri, userCode] = await login.waitFor(/Open (\S+) and confirm code ([A-Z0-9]{4}-[A-Z0-9]{4})/);
    expect(prompt).toBeTruthy();
    expect(verificationUri).toBe(`${worker.url}/_keygate/oauth/device?user_code=${userCode}`);
    const approve = await fetch(`${worker.url}/_keygate/oauth/device`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: worker.url, cookie },
      body: JSON.stringify({ user_code: userCode, action: "approve", org_id: orgId }),
    });
    expect(await approve.json()).toEqual({ ok: true, data: { status: "approved" } });

    const done = await login.done;
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`Logged in to ${worker.url} (org ${orgId})`);
    expect(done.stdout).not.toMatch(/kgo_/);
    const file = join(env.KEYGATE_CONFIG_DIR, "credentials.json");
    if (process.platform !== "win32") {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(env.KEYGATE_CONFIG_DIR)).mode & 0o777).toBe(0o700);
    }

    // No --url: the saved login's URL and token are used.
    const whoami = await spawnCli(["whoami", "--json"], env).done;
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ email, org_id: orgId, client_id: "keygate-cli", scopes: expect.arrayContaining(["keygate:keys:write"]) });

    // A key never grants more than its creator holds: the login asked for stories:read too.
    const create = await spawnCli(["keys", "create", "--name", "made-by-login", "--scopes", "stories:read"], env).done;
    expect(create.code, create.stderr).toBe(0);
    expect(create.stderr).toContain("it will not be shown again");
    const rawKey = /^\s+(kg_live_\S+)$/m.exec(create.stdout)?.[1];
    expect(rawKey).toBeDefined();
    const { status, echo } = await useKey(rawKey!);
    expect(status).toBe(200);
    expect(echo.headers?.["x-keygate-org-id"]).toBe(orgId);

    const logout = await spawnCli(["logout"], env).done;
    expect(logout.code).toBe(0);
    await expect(stat(file)).rejects.toThrow();
    const after = await spawnCli(["whoami"], env).done;
    expect(after).toMatchObject({ code: 1, stderr: "error: not logged in; run keygate login\n" });
  });
});
