/**
 * The device authorization grant (RFC 8628) end to end inside workerd: device code, polling,
 * approval by a signed-in user, the token exchange, refresh rotation, revocation, userinfo.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { pruneExpiredOAuth } from "../../src/consumer/retention";
import { addMember, authPost, createOrgAs, type DashboardUser, signUp } from "../helpers/auth";
import {
  authorizeDevice,
  bearer,
  CLIENT_ID,
  decide,
  DEVICE_GRANT,
  expectOAuthError,
  oauthPost,
  pollToken,
  refresh,
  requestDeviceCode,
  type TokenResponse,
} from "../helpers/oauth";
import { BASE, call, json } from "../helpers/worker";

let owner: DashboardUser;
let org: string;
let member: DashboardUser;

beforeAll(async () => {
  owner = await signUp("Olga Owner");
  org = await createOrgAs(owner, "Device Org");
  member = await signUp("Max Member");
  await addMember(org, member.userId);
});

afterEach(() => {
  vi.useRealTimers();
});

function later(ms: number): void {
  vi.useFakeTimers({ now: Date.now() + ms, toFake: ["Date"] });
}

describe("POST /_keygate/oauth/device/code", () => {
  it("answers a device code, an ABCD-EFGH user code, the verification URIs, 600 s and 5 s", async () => {
    const device = await requestDeviceCode({ scope: "content:read keygate:keys:read" });
    expect(device.device_code).toMatch(/^kgo_dc_[0-9A-Za-z]{43}$/);
    expect(device.user_code).toMatch(/^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
    expect(device.verification_uri).toBe(`${BASE}/_keygate/oauth/device`);
    expect(device.verification_uri_complete).toBe(`${BASE}/_keygate/oauth/device?user_code=${device.user_code}`);
    expect(device).toMatchObject({ expires_in: 600, interval: 5 });
  });

  it("accepts JSON as well as a form", async () => {
    const res = await oauthPost("/device/code", { client_id: CLIENT_ID, scope: "content:read" }, true);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("stores the device code only as its SHA-256", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM oauth_device_codes").all()).results);
    expect(rows).not.toContain(device.device_code);
  });

  it("refuses scopes outside the catalog with 400 invalid_scope", async () => {
    const res = await oauthPost("/device/code", { client_id: CLIENT_ID, scope: "content:read content:wrte" });
    await expectOAuthError(res, 400, "invalid_scope");
  });

  it("refuses a request without scope with 400 invalid_scope (there is no default scope)", async () => {
    await expectOAuthError(await oauthPost("/device/code", { client_id: CLIENT_ID }), 400, "invalid_scope");
    await expectOAuthError(await oauthPost("/device/code", { client_id: CLIENT_ID, scope: "  " }), 400, "invalid_scope");
    await expectOAuthError(await oauthPost("/device/code", { client_id: CLIENT_ID }, true), 400, "invalid_scope");
  });

  it("refuses a missing client_id with 401 invalid_client", async () => {
    await expectOAuthError(await oauthPost("/device/code", { scope: "content:read" }), 401, "invalid_client");
  });
});

describe("POST /_keygate/oauth/token (device code)", () => {
  it("walks pending, slow_down, approval, tokens once, then invalid_grant", async () => {
    const device = await requestDeviceCode({ scope: "content:read keygate:keys:write", org_id: org });
    await expectOAuthError(await pollToken(device.device_code), 400, "authorization_pending");
    await expectOAuthError(await pollToken(device.device_code), 400, "slow_down");
    // The interval grew to 10 s: 6 s later is still too fast, 16 s after that is fine.
    later(6_000);
    await expectOAuthError(await pollToken(device.device_code), 400, "slow_down");
    later(6_000 + 16_000);
    await expectOAuthError(await pollToken(device.device_code), 400, "authorization_pending");

    const approved = await decide(owner, device.user_code, "approve");
    expect(approved.status).toBe(200);
    expect(await json(approved)).toEqual({ ok: true, data: { status: "approved" } });

    const res = await pollToken(device.device_code);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const tokens = await json<TokenResponse>(res);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "content:read keygate:keys:write", org_id: org, project_id: null });
    expect(tokens.access_token).toMatch(/^kgo_at_[0-9A-Za-z]{43}$/);
    expect(tokens.refresh_token).toMatch(/^kgo_rt_[0-9A-Za-z]{43}$/);

    await expectOAuthError(await pollToken(device.device_code), 400, "invalid_grant");
  });

  it("answers access_denied once the user denies", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    expect(await json(await decide(owner, device.user_code, "deny"))).toEqual({ ok: true, data: { status: "denied" } });
    await expectOAuthError(await pollToken(device.device_code), 400, "access_denied");
  });

  it("answers expired_token after 600 s, and the page no longer takes the code", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    later(601_000);
    await expectOAuthError(await pollToken(device.device_code), 400, "expired_token");
    expect((await decide(owner, device.user_code, "approve")).status).toBe(400);
  });

  it("answers invalid_grant for an unknown device code or another client's", async () => {
    const device = await requestDeviceCode({ scope: "content:read" });
    await expectOAuthError(await pollToken("kgo_dc_" + "A".repeat(43)), 400, "invalid_grant");
    await expectOAuthError(await pollToken(device.device_code, "other-client"), 400, "invalid_grant");
  });

  it("answers unsupported_grant_type for other grants", async () => {
    const res = await oauthPost("/token", { grant_type: "password", client_id: CLIENT_ID });
    await expectOAuthError(res, 400, "unsupported_grant_type");
  });

  it("accepts the exchange as JSON", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    await decide(owner, device.user_code, "approve");
    const res = await oauthPost("/token", { grant_type: DEVICE_GRANT, device_code: device.device_code, client_id: CLIENT_ID }, true);
    expect(res.status).toBe(200);
  });
});

describe("POST /_keygate/oauth/device (the user's decision)", () => {
  it("needs an Origin of this Worker or of cors.origins", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    for (const origin of [null, "https://evil.example"]) {
      const res = await decide(owner, device.user_code, "approve", undefined, origin);
      expect(res.status).toBe(403);
      expect(await json(res)).toMatchObject({ message: "origin_not_allowed" });
    }
    expect((await decide(owner, device.user_code, "approve", undefined, "https://app.example.com")).status).toBe(200);
  });

  it("needs a signed-in user", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    const res = await call("/_keygate/oauth/device", {
      method: "POST",
      headers: { "content-type": "application/json", origin: BASE },
      body: JSON.stringify({ user_code: device.user_code, action: "approve" }),
    });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ message: "invalid session" });
  });

  it("takes the org from the user when the client named none, and refuses orgs the user is not in", async () => {
    const outsider = await signUp("Otto Outsider");
    const device = await requestDeviceCode({ scope: "content:read" });
    expect((await decide(outsider, device.user_code, "approve", org)).status).toBe(400);
    expect((await decide(owner, device.user_code, "approve")).status).toBe(400);
    expect((await decide(owner, device.user_code, "approve", org)).status).toBe(200);
    expect(await json(await pollToken(device.device_code))).toMatchObject({ org_id: org });
  });

  it("accepts the code in any case and without the dash", async () => {
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    expect((await decide(owner, device.user_code.replace("-", "").toLowerCase(), "approve")).status).toBe(200);
  });
});

describe("role allowance", () => {
  it("grants a member catalog scopes but never keygate: scopes", async () => {
    const tokens = await authorizeDevice(member, org, "content:read keygate:keys:write");
    expect(tokens.scope).toBe("content:read");
  });

  it("refuses a member's approval when only keygate: scopes were requested, leaving the code pending", async () => {
    const device = await requestDeviceCode({ scope: "keygate:keys:write", org_id: org });
    const res = await decide(member, device.user_code, "approve");
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ message: "insufficient_scope", details: { missingScopes: ["keygate:keys:write"] } });
    await expectOAuthError(await pollToken(device.device_code), 400, "authorization_pending");
  });

  it("grants an owner keygate: scopes", async () => {
    expect((await authorizeDevice(owner, org, "keygate:keys:write keygate:audit:read")).scope).toBe("keygate:keys:write keygate:audit:read");
  });
});

describe("refresh tokens", () => {
  it("rotate: a new pair, and the old access token keeps working until it expires", async () => {
    const first = await authorizeDevice(owner, org, "content:read");
    const res = await refresh(first.refresh_token);
    expect(res.status).toBe(200);
    const second = await json<TokenResponse>(res);
    expect(second).toMatchObject({ token_type: "Bearer", scope: "content:read", org_id: org });
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await call("/api/v1/site/pages", { headers: bearer(first.access_token) })).status).toBe(200);
    expect((await call("/api/v1/site/pages", { headers: bearer(second.access_token) })).status).toBe(200);
  });

  it("revoke the whole family when a used one comes back", async () => {
    const first = await authorizeDevice(owner, org, "content:read");
    const second = await json<TokenResponse>(await refresh(first.refresh_token));
    await expectOAuthError(await refresh(first.refresh_token), 400, "invalid_grant");
    for (const token of [first.access_token, second.access_token]) {
      const res = await call("/api/v1/site/pages", { headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ message: "invalid token" });
    }
    await expectOAuthError(await refresh(second.refresh_token), 400, "invalid_grant");
  });

  it("stop working for a user who left the org", async () => {
    const leaver = await signUp("Lea Leaver");
    await addMember(org, leaver.userId);
    const tokens = await authorizeDevice(leaver, org, "content:read");
    await env.DB.prepare("DELETE FROM members WHERE user_id = ?").bind(leaver.userId).run();
    await expectOAuthError(await refresh(tokens.refresh_token), 400, "invalid_grant");
  });

  it("end at once, access tokens included, for a member removed from the org", async () => {
    const removed = await signUp("Rex Removed");
    await addMember(org, removed.userId);
    const tokens = await authorizeDevice(removed, org, "content:read");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    const res = await authPost("/organization/remove-member", { memberIdOrEmail: removed.email, organizationId: org }, owner.cookie);
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(401);
    await expectOAuthError(await refresh(tokens.refresh_token), 400, "invalid_grant");
  });

  it("keep a device code's approval only while the approver is a member: removal denies it at once", async () => {
    const removed = await signUp("Ada Approver");
    await addMember(org, removed.userId);
    const device = await requestDeviceCode({ scope: "content:read", org_id: org });
    expect((await decide(removed, device.user_code, "approve")).status).toBe(200);
    const res = await authPost("/organization/remove-member", { memberIdOrEmail: removed.email, organizationId: org }, owner.cookie);
    expect(res.status).toBe(200);
    await expectOAuthError(await pollToken(device.device_code), 400, "access_denied");
    const row = await env.DB.prepare("SELECT status FROM oauth_device_codes WHERE user_id = ?").bind(removed.userId).first<{ status: string }>();
    expect(row?.status).toBe("denied");
  });

  it("re-check the approver's membership and role at the device code exchange", async () => {
    const admin = await signUp("Ann Admin");
    await addMember(org, admin.userId);
    await env.DB.prepare("UPDATE members SET role = 'admin' WHERE user_id = ?").bind(admin.userId).run();
    const device = await requestDeviceCode({ scope: "keygate:keys:write", org_id: org });
    expect((await decide(admin, device.user_code, "approve")).status).toBe(200);
    // Demoted (or removed) behind better-auth's back: only the exchange can notice.
    await env.DB.prepare("UPDATE members SET role = 'member' WHERE user_id = ?").bind(admin.userId).run();
    await expectOAuthError(await pollToken(device.device_code), 400, "access_denied");
    await expectOAuthError(await pollToken(device.device_code), 400, "access_denied");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM oauth_tokens WHERE user_id = ?").bind(admin.userId).first("n")).toBe(0);
  });

  it("narrow a device code's approved scopes to the approver's role at the exchange", async () => {
    const admin = await signUp("Ned Narrowed");
    await addMember(org, admin.userId);
    await env.DB.prepare("UPDATE members SET role = 'admin' WHERE user_id = ?").bind(admin.userId).run();
    const device = await requestDeviceCode({ scope: "content:read keygate:keys:write", org_id: org });
    expect((await decide(admin, device.user_code, "approve")).status).toBe(200);
    await env.DB.prepare("UPDATE members SET role = 'member' WHERE user_id = ?").bind(admin.userId).run();
    const res = await pollToken(device.device_code);
    expect(res.status).toBe(200);
    expect((await json<TokenResponse>(res)).scope).toBe("content:read");
  });

  it("issue nothing to a rotation that loses the race against reuse detection", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const original = await env.DB.prepare("SELECT id, family_id FROM oauth_tokens WHERE kind = 'refresh' AND revoked_at IS NULL AND used_at IS NULL ORDER BY id DESC LIMIT 1").first<{ id: string; family_id: string }>();
    // Another request saw the token reused and revoked the family while this rotation was under way.
    const batch = env.DB.batch.bind(env.DB);
    vi.spyOn(env.DB, "batch").mockImplementationOnce(async (statements) => {
      await env.DB.prepare("UPDATE oauth_tokens SET revoked_at = ? WHERE family_id = ?").bind(new Date().toISOString(), original!.family_id).run();
      return batch(statements);
    });
    await expectOAuthError(await refresh(tokens.refresh_token), 400, "invalid_grant");
    const live = await env.DB.prepare("SELECT count(*) AS n FROM oauth_tokens WHERE family_id = ? AND revoked_at IS NULL").bind(original!.family_id).first<{ n: number }>();
    expect(live?.n).toBe(0);
  });

  it("are stored only as SHA-256, like access tokens", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM oauth_tokens").all()).results);
    expect(rows).not.toContain(tokens.access_token);
    expect(rows).not.toContain(tokens.refresh_token);
  });
});

describe("POST /_keygate/oauth/revoke (RFC 7009)", () => {
  it("ends an access token at once in this Worker", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    expect((await oauthPost("/revoke", { token: tokens.access_token, token_type_hint: "access_token", client_id: CLIENT_ID })).status).toBe(200);
    const res = await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    // The refresh token still works: revoking an access token ends only that token.
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });

  it("ends a refresh token's whole family", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    expect((await oauthPost("/revoke", { token: tokens.refresh_token, client_id: CLIENT_ID }, true)).status).toBe(200);
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(401);
    await expectOAuthError(await refresh(tokens.refresh_token), 400, "invalid_grant");
  });

  it("answers 200 for unknown tokens", async () => {
    expect((await oauthPost("/revoke", { token: "not-a-token", client_id: CLIENT_ID })).status).toBe(200);
  });

  it("ignores an unknown token_type_hint (RFC 7009 §2.1)", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const res = await oauthPost("/revoke", { token: tokens.access_token, token_type_hint: "id_token", client_id: CLIENT_ID });
    expect(res.status).toBe(200);
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(401);
  });

  it("refuses to revoke a token issued to another client, which keeps working", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    await expectOAuthError(await oauthPost("/revoke", { token: tokens.refresh_token, client_id: "other-client" }), 400, "unauthorized_client");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });

  it("needs the client_id of the sending client (401 invalid_client)", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    await expectOAuthError(await oauthPost("/revoke", { token: tokens.access_token }), 401, "invalid_client");
  });
});

describe("GET /_keygate/oauth/userinfo", () => {
  it("says who an access token speaks for", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read keygate:keys:read");
    const res = await call("/_keygate/oauth/userinfo", { headers: bearer(tokens.access_token) });
    expect(res.status).toBe(200);
    const { data } = await json<{ data: Record<string, unknown> }>(res);
    expect(data).toMatchObject({
      user_id: owner.userId,
      email: owner.email,
      org_id: org,
      project_id: null,
      scopes: ["content:read", "keygate:keys:read"],
      client_id: CLIENT_ID,
    });
    expect(Date.parse(String(data.expires_at)) - Date.now()).toBeGreaterThan(3_500_000);
  });

  it("carries a top-level string sub and email, as OAuth and OpenID clients require", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const res = await call("/_keygate/oauth/userinfo", { headers: bearer(tokens.access_token) });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json(res)).toMatchObject({ sub: owner.userId, email: owner.email });
  });

  it("answers 401 invalid token with the RFC 6750 challenge", async () => {
    const res = await call("/_keygate/oauth/userinfo", { headers: bearer("kgo_at_" + "x".repeat(43)) });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ message: "invalid token" });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });
});

describe("retention", () => {
  it("deletes device authorizations and tokens a day after they expired", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const count = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM oauth_tokens").first<{ n: number }>())!.n;
    const before = await count();
    expect(await pruneExpiredOAuth(env, Date.now() + 3_600_000 + 86_400_000 + 1000)).toBeGreaterThanOrEqual(1);
    expect(await count()).toBeLessThan(before);
    // The refresh token lives 30 days: still there.
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });
});

describe("refresh tokens of another client", () => {
  it("are refused without using them up", async () => {
    const tokens = await authorizeDevice(owner, org, "content:read");
    const res = await oauthPost("/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "other-client" });
    await expectOAuthError(res, 400, "invalid_grant");
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });
});
