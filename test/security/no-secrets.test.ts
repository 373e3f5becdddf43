/**
 * Security: no raw key, token or cookie ever lands in a D1 row, a KV value, an audit event or a
 * console line, whatever path a request takes.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { keyCache } from "../../src/credentials/key-cache";
import { acceptInvitationAs, createOrgAs, inviteEmail, signUp } from "../helpers/auth";
import { bearer, decide, pollToken, refresh, requestDeviceCode, type TokenResponse } from "../helpers/oauth";
import { ADMIN_TOKEN, admin, call, createKey, createOrg } from "../helpers/worker";

const lines: string[] = [];
beforeAll(() => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
  }
});
afterAll(() => {
  vi.restoreAllMocks();
});

async function everyD1Value(): Promise<string> {
  const tables = ["orgs", "projects", "api_keys", "audit_events", "oauth_device_codes", "oauth_tokens", "invitations", "invitation_tokens", "members"];
  const dumps = await Promise.all(tables.map((table) => env.DB.prepare(`SELECT * FROM ${table}`).all()));
  return JSON.stringify(dumps.map((dump) => dump.results));
}

async function everyKvValue(): Promise<string> {
  const { keys } = await env.KEY_CACHE.list();
  return JSON.stringify(await Promise.all(keys.map((k) => env.KEY_CACHE.get(k.name))));
}

describe("secrets", () => {
  it("never appear in D1, KV, audit events or logs", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read", "keygate:keys:write"] });
    const cookie = "sessiontoken123.signaturexyz";
    // better-auth keeps a session's token in `sessions` (that is how it finds it); nowhere else may.
    const session = await signUp();
    const secrets = [key.key, ADMIN_TOKEN, cookie, session.token, session.cookieValue];

    // The device flow: device code, access and refresh tokens, rotated, used and revoked.
    const device = await requestDeviceCode({ scope: "content:read", org_id: await createOrgAs(session) });
    await decide(session, device.user_code, "approve");
    const tokens = (await (await pollToken(device.device_code)).json()) as TokenResponse;
    const rotatedTokens = (await (await refresh(tokens.refresh_token)).json()) as TokenResponse;
    secrets.push(device.device_code, tokens.access_token, tokens.refresh_token, rotatedTokens.access_token, rotatedTokens.refresh_token);
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    expect((await call("/api/v1/site/pages", { method: "POST", headers: bearer(rotatedTokens.access_token) })).status).toBe(403);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);

    const requests: Promise<Response>[] = [
      call("/api/v1/site/pages", { headers: { "x-api-key": key.key } }),
      call("/api/v1/products", { headers: { authorization: `Bearer ${key.key}` } }),
      call("/api/v1/site/pages", { headers: { "x-api-key": `${key.key.slice(0, -1)}x` } }),
      call("/api/v1/site/pages", { headers: { cookie: `better-auth.session_token=${cookie}` } }),
      call("/api/v1/site/pages", { headers: { cookie: session.cookie } }),
      call("/api/v1/site/pages", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    ];
    for (const res of await Promise.all(requests)) expect(await res.text()).not.toContain(key.key);

    const rotated = await admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 60 }, { "x-api-key": key.key });
    const successor = ((await rotated.json()) as { data: { key: string; id: string } }).data;
    secrets.push(successor.key);
    await admin("DELETE", `/keys/${successor.id}`);

    // An invitation link's secret: answered once, then refused, accepted and replayed.
    const invitee = await signUp("Invitee");
    const invitation = await inviteEmail(org, invitee.email, "admin");
    secrets.push(invitation.token);
    await acceptInvitationAs(invitee, invitation.token, "https://evil.example");
    expect((await acceptInvitationAs(invitee, invitation.token)).status).toBe(303);
    expect((await acceptInvitationAs(invitee, invitation.token)).status).toBe(404);

    keyCache.clearMemory();
    vi.spyOn(env.DB, "withSession").mockImplementationOnce(() => {
      throw new Error("D1 down");
    });
    expect((await call("/api/v1/site/pages", { headers: { "x-api-key": key.key } })).status).toBe(503);

    await vi.waitFor(async () => {
      const n = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE org_id = ?").bind(org).first<{ n: number }>();
      expect(n?.n).toBeGreaterThanOrEqual(4);
    });

    const stored = (await everyD1Value()) + (await everyKvValue()) + lines.join("\n");
    for (const secret of secrets) expect(stored).not.toContain(secret);
  });
});
