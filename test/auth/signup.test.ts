/**
 * SPEC §1 sign-up and org creation settings: SIGNUP (open, invite (default), closed), USER_ORGS and
 * ORG_LIMIT, enforced inside better-auth, with the contract's error body.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { acceptInvitationAs, createOrgAs, inviteEmail, randomClientIp, SESSION_COOKIE_NAME, sessionCookieValue, signUp, type DashboardUser } from "../helpers/auth";
import { BASE, callWithEnv, createOrg, type Echo, json } from "../helpers/worker";

const PASSWORD = "correct horse battery staple";

function signUpWith(vars: Record<string, string>, email: string, invitationToken?: string): Promise<Response> {
  return authPostWith(vars, "/sign-up/email", { name: "New User", email, password: PASSWORD, ...(invitationToken && { invitationToken }) });
}

function authPostWith(vars: Record<string, string>, path: string, body: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: BASE, "cf-connecting-ip": randomClientIp() };
  if (cookie) headers.cookie = cookie;
  return callWithEnv(`/_keygate/auth${path}`, vars, { method: "POST", headers, body: JSON.stringify(body) });
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

  it("invite: registers the holder of a pending invitation's link for that email, whatever the case of either", async () => {
    const email = freshEmail();
    const { token } = await inviteEmail(await createOrg(), email);
    const res = await signUpWith({ SIGNUP: "invite" }, email.toUpperCase(), token);
    expect(res.status).toBe(200);
    expect(sessionCookieValue(res)).toBeTruthy();
    expect(await userCount(email)).toBe(1);
    const mixed = `Mixed.${crypto.randomUUID()}@Example.com`;
    const second = await inviteEmail(await createOrg(), mixed);
    expect((await signUpWith({ SIGNUP: "invite" }, mixed.toLowerCase(), second.token)).status).toBe(200);
  });

  it("invite: an invited email without its link's secret gets 403 invitation_required, and no user", async () => {
    const email = freshEmail();
    await inviteEmail(await createOrg(), email, "owner");
    const res = await signUpWith({ SIGNUP: "invite" }, email);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "invitation_required" });
    expect(await userCount(email)).toBe(0);
  });

  it("invite: registering joins no org; accepting the link joins it with the role, and the session then acts for it", async () => {
    const email = freshEmail();
    const org = await createOrg();
    const { id, token } = await inviteEmail(org, email, "owner");
    const registered = await signUpWith({ SIGNUP: "invite" }, email, token);
    expect(registered.status).toBe(200);
    const { user } = await json<{ user: { id: string } }>(registered);
    const memberOf = () => env.DB.prepare("SELECT role FROM members WHERE user_id = ? AND org_id = ?").bind(user.id, org).first();
    expect(await memberOf()).toBeNull();
    const cookie = `${SESSION_COOKIE_NAME}=${sessionCookieValue(registered)}`;
    const session: DashboardUser = { userId: user.id, email, token: "", cookieValue: "", cookie };
    expect((await acceptInvitationAs(session, token)).status).toBe(303);
    expect(await memberOf()).toEqual({ role: "owner" });
    expect(await env.DB.prepare("SELECT status FROM invitations WHERE id = ?").bind(id).first()).toEqual({ status: "accepted" });
    const res = await callWithEnv("/api/v1/products", {}, { headers: { cookie } });
    expect((await json<Echo>(res)).headers["x-keygate-org-id"]).toBe(org);
  });

  it("invite: refuses the link of an invitation that expired or was already used", async () => {
    const org = await createOrg();
    const expired = freshEmail();
    const late = await inviteEmail(org, expired);
    await env.DB.prepare("UPDATE invitations SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), late.id).run();
    expect((await signUpWith({ SIGNUP: "invite" }, expired, late.token)).status).toBe(403);
    const used = freshEmail();
    const spent = await inviteEmail(org, used);
    await env.DB.prepare("UPDATE invitations SET status = 'accepted' WHERE id = ?").bind(spent.id).run();
    expect((await signUpWith({ SIGNUP: "invite" }, used, spent.token)).status).toBe(403);
  });

  it("closed: refuses even the holder of an invitation's link with 403 signup_closed", async () => {
    const email = freshEmail();
    const { token } = await inviteEmail(await createOrg(), email);
    const res = await signUpWith({ SIGNUP: "closed" }, email, token);
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
