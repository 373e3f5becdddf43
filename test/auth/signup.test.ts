/**
 * SPEC §1 sign-up and org creation settings: SIGNUP (open, invite (default), closed), USER_ORGS and
 * ORG_LIMIT, enforced inside better-auth, with the contract's error body.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { createOrgAs, randomClientIp, SESSION_COOKIE_NAME, sessionCookieValue, signUp } from "../helpers/auth";
import { BASE, callWithEnv, createOrg, type Echo, json } from "../helpers/worker";

const PASSWORD = "correct horse battery staple";

function signUpWith(vars: Record<string, string>, email: string): Promise<Response> {
  return authPostWith(vars, "/sign-up/email", { name: "New User", email, password: PASSWORD });
}

function authPostWith(vars: Record<string, string>, path: string, body: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: BASE, "cf-connecting-ip": randomClientIp() };
  if (cookie) headers.cookie = cookie;
  return callWithEnv(`/_keygate/auth${path}`, vars, { method: "POST", headers, body: JSON.stringify(body) });
}

async function invite(orgId: string, email: string, expiresAt = new Date(Date.now() + 86_400_000), role = "member"): Promise<string> {
  const inviter = await signUp("Inviter");
  const id = newId("inv");
  await env.DB.prepare("INSERT INTO invitations (id, org_id, email, role, status, expires_at, created_at, inviter_id) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)")
    .bind(id, orgId, email, role, expiresAt.toISOString(), new Date().toISOString(), inviter.userId)
    .run();
  return id;
}

async function userCount(email: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first<{ n: number }>())!.n;
}

const freshEmail = () => `${crypto.randomUUID()}@example.com`;

describe("SIGNUP", () => {
  it("defaults to invite: an email without a pending invitation gets 403 invitation_required in the contract's shape, and no user", async () => {
    const email = freshEmail();
    const res = await signUpWith({ SIGNUP: "" }, email);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "invitation_required" });
    expect(await userCount(email)).toBe(0);
  });

  it("invite: registers an email with a pending invitation, whatever the case of either", async () => {
    const email = freshEmail();
    await invite(await createOrg(), email);
    const res = await signUpWith({ SIGNUP: "invite" }, email.toUpperCase());
    expect(res.status).toBe(200);
    expect(sessionCookieValue(res)).toBeTruthy();
    expect(await userCount(email)).toBe(1);
    const mixed = `Mixed.${crypto.randomUUID()}@Example.com`;
    await invite(await createOrg(), mixed);
    expect((await signUpWith({ SIGNUP: "invite" }, mixed.toLowerCase())).status).toBe(200);
  });

  it("invite: registering redeems the invitations, joining each inviting org with its role, and the session acts for it", async () => {
    const email = freshEmail();
    const org = await createOrg();
    const invitationId = await invite(org, email, undefined, "owner");
    const registered = await signUpWith({ SIGNUP: "invite" }, email);
    expect(registered.status).toBe(200);
    const { user } = await json<{ user: { id: string } }>(registered);
    const member = await env.DB.prepare("SELECT role FROM members WHERE user_id = ? AND org_id = ?").bind(user.id, org).first();
    expect(member).toEqual({ role: "owner" });
    expect(await env.DB.prepare("SELECT status FROM invitations WHERE id = ?").bind(invitationId).first()).toEqual({ status: "accepted" });
    const cookie = `${SESSION_COOKIE_NAME}=${sessionCookieValue(registered)}`;
    const res = await callWithEnv("/api/v1/products", {}, { headers: { cookie } });
    expect((await json<Echo>(res)).headers["x-keygate-org-id"]).toBe(org);
  });

  it("invite: refuses an email whose invitation expired or was already used", async () => {
    const org = await createOrg();
    const expired = freshEmail();
    await invite(org, expired, new Date(Date.now() - 1000));
    expect((await signUpWith({ SIGNUP: "invite" }, expired)).status).toBe(403);
    const used = freshEmail();
    const id = await invite(org, used);
    await env.DB.prepare("UPDATE invitations SET status = 'accepted' WHERE id = ?").bind(id).run();
    expect((await signUpWith({ SIGNUP: "invite" }, used)).status).toBe(403);
  });

  it("closed: refuses even an invited email with 403 signup_closed", async () => {
    const email = freshEmail();
    await invite(await createOrg(), email);
    const res = await signUpWith({ SIGNUP: "closed" }, email);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "signup_closed" });
    expect(await userCount(email)).toBe(0);
  });

  it("open: registers anyone", async () => {
    expect((await signUpWith({ SIGNUP: "open" }, freshEmail())).status).toBe(200);
  });

  it("still lets existing users sign in when closed", async () => {
    const user = await signUp();
    const res = await authPostWith({ SIGNUP: "closed" }, "/sign-in/email", { email: user.email, password: PASSWORD });
    expect(res.status).toBe(200);
  });
});

describe("org creation by users", () => {
  it("USER_ORGS=off: a signed-in user cannot create an org", async () => {
    const user = await signUp();
    const res = await authPostWith({ USER_ORGS: "off" }, "/organization/create", { name: "Mine", slug: `org-${crypto.randomUUID()}` }, user.cookie);
    expect(res.status).toBe(403);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM members WHERE user_id = ?").bind(user.userId).first<{ n: number }>())!;
    expect(n).toBe(0);
  });

  it("ORG_LIMIT caps the orgs a user may belong to when creating one (default 5)", async () => {
    const user = await signUp();
    for (let i = 0; i < 5; i++) await createOrgAs(user);
    const res = await authPostWith({}, "/organization/create", { name: "Sixth", slug: `org-${crypto.randomUUID()}` }, user.cookie);
    expect(res.status).toBe(403);
    const limited = await signUp();
    await createOrgAs(limited);
    const second = await authPostWith({ ORG_LIMIT: "1" }, "/organization/create", { name: "Second", slug: `org-${crypto.randomUUID()}` }, limited.cookie);
    expect(second.status).toBe(403);
  });

  it("rejects settings outside their values at startup", async () => {
    const invalid: Record<string, string>[] = [{ SIGNUP: "sometimes" }, { USER_ORGS: "maybe" }, { ORG_LIMIT: "0" }];
    for (const vars of invalid) {
      const res = await authPostWith(vars, "/sign-in/email", { email: freshEmail(), password: PASSWORD });
      expect(res.status).toBe(500);
    }
  });
});
