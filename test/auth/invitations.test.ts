/**
 * Invitations are redeemed only by the secret of their link (src/auth/invitations.ts): the admin
 * API answers the link once and stores its SHA-256; the console's invitation page accepts it for the
 * signed-in user of the invited email, once, before it expires; better-auth's own invitation
 * endpoints, which list or redeem by id or email, are refused. Each test is an attack that must fail.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { getAuth } from "../../src/auth/auth";
import { sha256Hex } from "../../src/core/sha256";
import { acceptInvitationAs, authPost, inviteEmail, signUpAs, type DashboardUser } from "../helpers/auth";
import { admin, BASE, call, callWithEnv, createOrg, env, json } from "../helpers/worker";

const CONSOLE = "/_keygate/console";
const PASSWORD = "correct horse battery staple";
const freshEmail = () => `${crypto.randomUUID()}@example.com`;

function signUpWith(vars: Record<string, string>, body: Record<string, string>): Promise<Response> {
  return callWithEnv("/_keygate/auth/sign-up/email", vars, {
    method: "POST",
    headers: { "content-type": "application/json", origin: BASE, "cf-connecting-ip": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` },
    body: JSON.stringify({ name: "New User", password: PASSWORD, ...body }),
  });
}

async function membership(orgId: string, userId: string) {
  return env.DB.prepare("SELECT role FROM members WHERE org_id = ? AND user_id = ?").bind(orgId, userId).first<{ role: string }>();
}

async function invitationStatus(id: string) {
  return (await env.DB.prepare("SELECT status FROM invitations WHERE id = ?").bind(id).first<{ status: string }>())?.status;
}

function invitationPage(token: string, user: DashboardUser | null): Promise<Response> {
  return call(`${CONSOLE}/invitations/${token}`, { headers: user ? { cookie: user.cookie } : {}, redirect: "manual" });
}

let org: string;

beforeAll(async () => {
  org = await createOrg("Inviting Org");
});

describe("POST /_keygate/v1/orgs/:id/invitations", () => {
  it("answers an accept_url on the request's origin carrying a kgi_ secret of 43 base62 characters, and stores only its SHA-256", async () => {
    const invitation = await inviteEmail(org, freshEmail(), "admin");
    expect(invitation.acceptUrl).toMatch(new RegExp(`^${BASE}${CONSOLE}/invitations/kgi_[0-9A-Za-z]{43}$`));
    const stored = await env.DB.prepare("SELECT token_hash FROM invitation_tokens WHERE invitation_id = ?").bind(invitation.id).first();
    expect(stored).toEqual({ token_hash: await sha256Hex(invitation.token) });
    const row = await env.DB.prepare("SELECT * FROM invitations WHERE id = ?").bind(invitation.id).first();
    expect(JSON.stringify(row)).not.toContain(invitation.token);
  });

  it("gives every invitation its own secret", async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) tokens.add((await inviteEmail(org, freshEmail())).token);
    expect(tokens.size).toBe(5);
  });
});

describe("registering an invited email", () => {
  it("SIGNUP=invite: without the link's secret is 403 invitation_required, and no user is created", async () => {
    const email = freshEmail();
    await inviteEmail(org, email, "owner");
    const res = await signUpWith({ SIGNUP: "invite" }, { email });
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "invitation_required" });
    expect(await env.DB.prepare("SELECT 1 FROM users WHERE email = ?").bind(email).first()).toBeNull();
  });

  it("SIGNUP=invite: another email's secret, or a made-up one, does not register", async () => {
    const { token } = await inviteEmail(org, freshEmail());
    for (const invitationToken of [token, `kgi_${"A".repeat(43)}`, "not-a-token"]) {
      const res = await signUpWith({ SIGNUP: "invite" }, { email: freshEmail(), invitationToken });
      expect(res.status).toBe(403);
    }
  });

  it("SIGNUP=open: registers the invited email but joins nothing, and the invitation stays pending", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email, "owner");
    const res = await signUpWith({ SIGNUP: "open" }, { email });
    expect(res.status).toBe(200);
    const { user } = await json<{ user: { id: string } }>(res);
    expect(await membership(org, user.id)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("SIGNUP=invite: with the secret registers, yet joins the org only once the user accepts", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email, "admin");
    const res = await signUpWith({ SIGNUP: "invite" }, { email: email.toUpperCase(), invitationToken: invitation.token });
    expect(res.status).toBe(200);
    const { user } = await json<{ user: { id: string } }>(res);
    expect(await membership(org, user.id)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });
});

describe("accepting on the invitation's page", () => {
  it("joins the invited user with the invited role, opens the org, and marks the invitation accepted", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email, "admin");
    const user = await signUpAs(email.toUpperCase());
    const html = await (await invitationPage(invitation.token, user)).text();
    expect(html).toContain("Join Inviting Org as admin.");
    expect(html).toContain(`<form method="post" action="${CONSOLE}/invitations/${invitation.token}">`);
    const res = await acceptInvitationAs(user, invitation.token);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${CONSOLE}/${org}`);
    expect(await membership(org, user.userId)).toEqual({ role: "admin" });
    expect(await invitationStatus(invitation.id)).toBe("accepted");
    const members = await json<{ data: { email: string; role: string }[] }>(await admin("GET", `/orgs/${org}/members`));
    expect(members.data).toContainEqual(expect.objectContaining({ email, role: "admin" }));
  });

  it("refuses a valid secret used by a user of another email with 403, and changes nothing", async () => {
    const invitation = await inviteEmail(org, freshEmail(), "owner");
    const intruder = await signUpAs(freshEmail());
    expect((await invitationPage(invitation.token, intruder)).status).toBe(403);
    const res = await acceptInvitationAs(intruder, invitation.token);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("sent to another email address");
    expect(await membership(org, intruder.userId)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("refuses a used secret (a replay), also by the same user after leaving the org, with 404", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email);
    const user = await signUpAs(email);
    expect((await acceptInvitationAs(user, invitation.token)).status).toBe(303);
    await env.DB.prepare("DELETE FROM members WHERE org_id = ? AND user_id = ?").bind(org, user.userId).run();
    const replay = await acceptInvitationAs(user, invitation.token);
    expect(replay.status).toBe(404);
    expect(await replay.text()).toContain("This invitation link is not valid.");
    expect((await invitationPage(invitation.token, user)).status).toBe(404);
    expect(await membership(org, user.userId)).toBeNull();
  });

  it("refuses an expired secret with 404, and changes nothing", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email);
    await env.DB.prepare("UPDATE invitations SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), invitation.id).run();
    const user = await signUpAs(email);
    expect((await invitationPage(invitation.token, user)).status).toBe(404);
    expect((await acceptInvitationAs(user, invitation.token)).status).toBe(404);
    expect(await membership(org, user.userId)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("refuses a mistyped or made-up secret with 404", async () => {
    const user = await signUpAs(freshEmail());
    const { token } = await inviteEmail(org, user.email);
    for (const guess of [`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`, `kgi_${"0".repeat(43)}`, "inv_123", token.toLowerCase()]) {
      expect((await acceptInvitationAs(user, guess)).status).toBe(404);
    }
    expect(await membership(org, user.userId)).toBeNull();
  });

  it("joins only the org whose invitation the secret is: org A's secret never joins org B", async () => {
    const orgB = await createOrg("Org B");
    const email = freshEmail();
    const fromA = await inviteEmail(org, email, "member");
    const fromB = await inviteEmail(orgB, email, "owner");
    const user = await signUpAs(email);
    expect((await acceptInvitationAs(user, fromA.token)).headers.get("location")).toBe(`${CONSOLE}/${org}`);
    expect(await membership(org, user.userId)).toEqual({ role: "member" });
    expect(await membership(orgB, user.userId)).toBeNull();
    expect(await invitationStatus(fromB.id)).toBe("pending");
  });

  it("refuses the Accept post without a trusted Origin (CSRF) with 403, and changes nothing", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email);
    const user = await signUpAs(email);
    for (const origin of [null, "https://evil.example", "null"]) {
      const res = await acceptInvitationAs(user, invitation.token, origin);
      expect(res.status).toBe(403);
      expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "origin_not_allowed" });
    }
    expect(await membership(org, user.userId)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("shows a signed-out visitor the org and role with sign-up and sign-in links back to the page; a signed-out post goes to sign-in", async () => {
    const invitation = await inviteEmail(org, freshEmail(), "admin");
    const res = await invitationPage(invitation.token, null);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("Join Inviting Org as admin.");
    const next = encodeURIComponent(`${CONSOLE}/invitations/${invitation.token}`);
    expect(html).toContain(`href="${CONSOLE}/sign-up?next=${next}"`);
    expect(html).toContain(`href="${CONSOLE}/sign-in?next=${next}"`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const post = await acceptInvitationAs(null, invitation.token);
    expect(post.status).toBe(303);
    expect(post.headers.get("location")).toBe(`${CONSOLE}/sign-in?next=${next}`);
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("carries the secret from the page into the sign-up form", async () => {
    const invitation = await inviteEmail(org, freshEmail());
    const next = encodeURIComponent(`${CONSOLE}/invitations/${invitation.token}`);
    const res = await callWithEnv(`${CONSOLE}/sign-up?next=${next}`, { SIGNUP: "invite" });
    const html = await res.text();
    expect(html).toContain(`data-invitation="${invitation.token}"`);
    expect(html).toContain(`data-next="${CONSOLE}/invitations/${invitation.token}"`);
  });

  it("offers no sign-up form with SIGNUP=invite and no invitation, nor ever with SIGNUP=closed, and no link to one", async () => {
    expect(await (await callWithEnv(`${CONSOLE}/sign-up`, { SIGNUP: "invite" })).text()).not.toContain("data-sign-up");
    expect(await (await callWithEnv(`${CONSOLE}/sign-in`, { SIGNUP: "invite" })).text()).not.toContain(`${CONSOLE}/sign-up`);
    const invitation = await inviteEmail(org, freshEmail());
    const next = encodeURIComponent(`${CONSOLE}/invitations/${invitation.token}`);
    expect(await (await callWithEnv(`${CONSOLE}/sign-up?next=${next}`, { SIGNUP: "closed" })).text()).not.toContain("data-sign-up");
    expect(await (await callWithEnv(`${CONSOLE}/sign-in?next=${next}`, { SIGNUP: "closed" })).text()).not.toContain(`${CONSOLE}/sign-up`);
    expect(await (await callWithEnv(`${CONSOLE}/invitations/${invitation.token}`, { SIGNUP: "closed" })).text()).not.toContain(`${CONSOLE}/sign-up`);
  });
});

describe("POST /_keygate/v1/invitations/accept", () => {
  const asSession = (user: DashboardUser) => ({ cookie: user.cookie, origin: BASE });

  it("joins the signed-in invitee with the role, answers the org, and audits org.join without the secret", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email, "admin");
    const user = await signUpAs(email);
    const res = await admin("POST", "/invitations/accept", { token: invitation.token }, asSession(user));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ ok: true, data: { org_id: org, role: "admin" } });
    expect(await membership(org, user.userId)).toEqual({ role: "admin" });
    const event = await vi.waitFor(
      async () => {
        const row = await env.DB.prepare("SELECT * FROM audit_events WHERE action = 'org.join' AND target_id = ?").bind(invitation.id).first<Record<string, unknown>>();
        if (!row) throw new Error("no org.join event yet");
        return row;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(event).toMatchObject({ caller: "session", org_id: org, outcome: "allowed", path: "/_keygate/v1/invitations/accept" });
    expect(JSON.parse(String(event.changes))).toEqual({ user_id: [null, user.userId], role: [null, "admin"] });
    expect(JSON.stringify(event)).not.toContain(invitation.token);
  });

  it("answers another email's user 403 invitation_for_another_email and an unknown secret 404, in the contract's shape", async () => {
    const invitation = await inviteEmail(org, freshEmail());
    const intruder = await signUpAs(freshEmail());
    const other = await admin("POST", "/invitations/accept", { token: invitation.token }, asSession(intruder));
    expect(other.status).toBe(403);
    expect(await json(other)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "invitation_for_another_email" });
    const unknown = await admin("POST", "/invitations/accept", { token: `kgi_${"B".repeat(43)}` }, asSession(intruder));
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ ok: false, code: "NOT_FOUND", details: { reason: "the invitation link is invalid, expired or already used" } });
    expect(await membership(org, intruder.userId)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });

  it("refuses ADMIN_TOKEN (an invitation is for a person; API keys are in the security matrix) and a body that is not {token}", async () => {
    const invitation = await inviteEmail(org, freshEmail());
    expect((await admin("POST", "/invitations/accept", { token: invitation.token })).status).toBe(403);
    const user = await signUpAs(freshEmail());
    expect((await admin("POST", "/invitations/accept", { token: invitation.token, email: user.email }, asSession(user))).status).toBe(400);
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });
});

describe("the return path of sign-in and sign-up", () => {
  it.each([
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example",
    "/_keygate/console/../../evil",
    "/_keygate/consolex",
    "/_keygate/console/\t/evil",
    "javascript:alert(1)",
    " /_keygate/console",
  ])("sends the browser only to console pages: %j is replaced by the console's start", async (next) => {
    for (const page of ["sign-in", "sign-up"]) {
      const html = await (await callWithEnv(`${CONSOLE}/${page}?next=${encodeURIComponent(next)}`, { SIGNUP: "open" })).text();
      expect(/data-next="([^"]*)"/.exec(html)?.[1]).toBe(CONSOLE);
      expect(html).not.toContain("evil");
    }
  });

  it("keeps a console path and its query, encoded characters staying encoded", async () => {
    const html = await (await call(`${CONSOLE}/sign-in?next=${encodeURIComponent(`${CONSOLE}/org_1/audit?outcome=denied`)}`)).text();
    expect(html).toContain(`data-next="${CONSOLE}/org_1/audit?outcome=denied"`);
    const encoded = await (await call(`${CONSOLE}/sign-in?next=${encodeURIComponent(`${CONSOLE}/%0d%0aSet-Cookie:x`)}`)).text();
    expect(encoded).toContain(`data-next="${CONSOLE}/%0d%0aSet-Cookie:x"`);
  });
});

describe("better-auth's invitation endpoints", () => {
  const invitationPaths = Object.values(getAuth(env).api as Record<string, { path?: string }>)
    .map((endpoint) => endpoint.path)
    .filter((path): path is string => typeof path === "string" && /invit/i.test(path));

  it("are every invitation route of the organization plugin", () => {
    for (const known of [
      "/organization/invite-member",
      "/organization/accept-invitation",
      "/organization/reject-invitation",
      "/organization/cancel-invitation",
      "/organization/get-invitation",
      "/organization/list-invitations",
      "/organization/list-user-invitations",
    ]) {
      expect(invitationPaths).toContain(known);
    }
  });

  it("are refused with 404 by GET and POST, however the path is spelt, and redeem nothing", async () => {
    const email = freshEmail();
    const invitation = await inviteEmail(org, email, "owner");
    const user = await signUpAs(email);
    const body = { invitationId: invitation.id, organizationId: org, email, role: "owner" };
    for (const path of invitationPaths) {
      const spellings = [path, `${path}/`, path.toUpperCase(), path.replace("/organization/", "/organization//"), path.replace("i", "%69")];
      for (const spelt of spellings) {
        const posted = await authPost(spelt, body, user.cookie);
        expect(posted.status, `POST ${spelt}`).toBe(404);
        expect(await json(posted)).toMatchObject({ ok: false, code: "NOT_FOUND" });
        const got = await call(`/_keygate/auth${spelt}?id=${invitation.id}&email=${encodeURIComponent(email)}`, { headers: { cookie: user.cookie, origin: BASE } });
        expect(got.status, `GET ${spelt}`).toBe(404);
      }
    }
    expect(await membership(org, user.userId)).toBeNull();
    expect(await invitationStatus(invitation.id)).toBe("pending");
  });
});

describe("the secret never leaks", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is in no audit event, log line, members list or better-auth org answer", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const email = freshEmail();
    const ownerUser = await signUpAs(freshEmail());
    const orgOfOwner = await createOrg("Leak Check");
    await env.DB.prepare("INSERT INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, 'owner', ?)")
      .bind(`mem_${crypto.randomUUID()}`, orgOfOwner, ownerUser.userId, new Date().toISOString())
      .run();
    const invitation = await inviteEmail(orgOfOwner, email, "admin", { cookie: ownerUser.cookie, origin: BASE });
    const invitee = await signUpAs(email);
    // A refused accept and a refused better-auth call are audited or logged, if anything is.
    await acceptInvitationAs(invitee, invitation.token, "https://evil.example");
    await authPost("/organization/accept-invitation", { invitationId: invitation.token }, invitee.cookie);
    await admin("POST", `/orgs/${orgOfOwner}/invitations`, { email, role: "admin", token: invitation.token }, { cookie: ownerUser.cookie, origin: BASE });
    await acceptInvitationAs(invitee, invitation.token);
    const event = await vi.waitFor(
      async () => {
        const row = await env.DB.prepare("SELECT * FROM audit_events WHERE action = 'org.invite' AND target_id = ?").bind(invitation.id).first();
        if (!row) throw new Error("no org.invite event yet");
        return row;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(event).toMatchObject({ caller: "session", org_id: orgOfOwner });
    await vi.waitFor(
      async () => {
        if (!(await env.DB.prepare("SELECT 1 FROM audit_events WHERE action = 'org.join' AND target_id = ?").bind(invitation.id).first())) throw new Error("no org.join yet");
      },
      { timeout: 5000, interval: 50 },
    );
    const { results: events } = await env.DB.prepare("SELECT * FROM audit_events WHERE org_id = ? OR path LIKE '%invitation%'").bind(orgOfOwner).all();
    const reads = [
      JSON.stringify(events),
      await (await admin("GET", `/orgs/${orgOfOwner}/members`)).text(),
      await (await call(`/_keygate/auth/organization/get-full-organization?organizationId=${orgOfOwner}`, { headers: { cookie: ownerUser.cookie } })).text(),
      await (await call(`${CONSOLE}/${orgOfOwner}/members`, { headers: { cookie: ownerUser.cookie } })).text(),
      logged.join("\n"),
    ];
    for (const text of reads) expect(text).not.toContain(invitation.token);
    expect(reads[1]).toContain(email);
  });
});
