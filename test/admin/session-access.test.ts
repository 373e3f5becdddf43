/**
 * SPEC §8 session access beyond the permission matrix (test/admin/security.test.ts): which org a
 * session acts for, invitations and members, and the admin API additions the console reads (key
 * states, audit series).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { writeEvents } from "../../src/audit/store";
import { keyStates, KEY_STATES } from "../../src/schemas/key-state";
import { acceptInvitationAs, addMember, authPost, createOrgAs, signUp, type DashboardUser } from "../helpers/auth";
import { auditEvent } from "../helpers/events";
import { admin, BASE, createKey, createOrg, env, json } from "../helpers/worker";

const asSession = (user: DashboardUser) => ({ cookie: user.cookie, origin: BASE });

describe("the org a session acts for", () => {
  let user: DashboardUser;
  let first: string;
  let second: string;

  beforeAll(async () => {
    user = await signUp("Two Orgs");
    first = await createOrgAs(user, "First");
    second = await createOrgAs(user, "Second");
  });

  it("is the org_id the request names, when the user is a member", async () => {
    const res = await admin("GET", `/keys?org_id=${second}`, undefined, asSession(user));
    expect(res.status).toBe(200);
  });

  it("is 403 org_required for a user of several orgs naming none, with no active org", async () => {
    const fresh = await signUp("Fresh");
    await addMember(first, fresh.userId);
    await addMember(second, fresh.userId);
    const res = await admin("GET", "/keys", undefined, asSession(fresh));
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ code: "FORBIDDEN", message: "org_required" });
  });

  it("is better-auth's active organization when the request names none", async () => {
    const active = await signUp("Active");
    const mine = await createOrgAs(active, "Mine");
    await createOrgAs(active, "Also mine");
    const set = await authPost("/organization/set-active", { organizationId: mine }, active.cookie);
    expect(set.status).toBe(200);
    const created = await admin("POST", "/keys", { name: "in active org", scopes: ["content:read"] }, asSession(active));
    expect(created.status).toBe(201);
    expect((await json<{ data: { org_id: string } }>(created)).data.org_id).toBe(mine);
  });

  it("is none (403 org_required) after the user left the active org, not the remaining membership", async () => {
    const leaver = await signUp("Leaver");
    const kept = await createOrgAs(leaver, "Kept");
    const left = await createOrgAs(leaver, "Left");
    expect((await authPost("/organization/set-active", { organizationId: left }, leaver.cookie)).status).toBe(200);
    await env.DB.prepare("DELETE FROM members WHERE org_id = ? AND user_id = ?").bind(left, leaver.userId).run();
    const res = await admin("GET", "/keys", undefined, asSession(leaver));
    expect(res.status).toBe(403);
    expect((await admin("GET", `/keys?org_id=${kept}`, undefined, asSession(leaver))).status).toBe(200);
  });

  it("is the org owning the project_id the request names", async () => {
    await admin("POST", "/projects", { org_id: second, name: "p", id: "owned_by_second" });
    const res = await admin("POST", "/keys", { name: "by project", scopes: ["content:read"], project_id: "owned_by_second" }, asSession(user));
    expect(res.status).toBe(201);
    expect((await json<{ data: { org_id: string } }>(res)).data.org_id).toBe(second);
  });

  it("lets an owner session grant the keygate: scopes of its role, and refuses a member session any key", async () => {
    const res = await admin("POST", "/keys", { org_id: first, name: "w", scopes: ["keygate:keys:write"] }, asSession(user));
    expect(res.status).toBe(201);
    const member = await signUp("Reader");
    await addMember(first, member.userId);
    const refused = await admin("POST", "/keys", { org_id: first, name: "m", scopes: ["content:read"] }, asSession(member));
    expect(refused.status).toBe(403);
  });
});

describe("POST /_keygate/v1/orgs/:id/invitations", () => {
  it("with ADMIN_TOKEN invites an email whose user accepts through the answered link, becoming a member with the role", async () => {
    const org = await createOrg("Invited Org");
    const invitee = await signUp("Invitee");
    const res = await admin("POST", `/orgs/${org}/invitations`, { email: invitee.email.toUpperCase(), role: "admin" });
    expect(res.status).toBe(201);
    const invitation = (await json<{ data: { id: string; email: string; inviter_id: string | null; accept_url: string } }>(res)).data;
    expect(invitation).toMatchObject({ email: invitee.email, inviter_id: null });
    const accepted = await acceptInvitationAs(invitee, invitation.accept_url.split("/").pop()!);
    expect(accepted.status, await accepted.clone().text()).toBe(303);
    const members = await json<{ data: { email: string; role: string }[] }>(await admin("GET", `/orgs/${org}/members`));
    expect(members.data).toContainEqual(expect.objectContaining({ email: invitee.email, role: "admin" }));
  });

  it("answers 409 for an email with a pending invitation or of a member, and stores nothing more", async () => {
    const owner = await signUp("Inviting Owner");
    const org = await createOrgAs(owner, "Dupes");
    const email = `${crypto.randomUUID()}@example.com`;
    expect((await admin("POST", `/orgs/${org}/invitations`, { email, role: "member" }, asSession(owner))).status).toBe(201);
    expect((await admin("POST", `/orgs/${org}/invitations`, { email, role: "member" }, asSession(owner))).status).toBe(409);
    expect((await admin("POST", `/orgs/${org}/invitations`, { email: owner.email, role: "member" }, asSession(owner))).status).toBe(409);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM invitations WHERE org_id = ?").bind(org).first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("lets an admin invite members and admins but not owners; an owner may", async () => {
    const owner = await signUp("Owner");
    const org = await createOrgAs(owner, "Roles");
    const orgAdmin = await signUp("Admin");
    await addMember(org, orgAdmin.userId, "admin");
    const email = () => `${crypto.randomUUID()}@example.com`;
    expect((await admin("POST", `/orgs/${org}/invitations`, { email: email(), role: "admin" }, asSession(orgAdmin))).status).toBe(201);
    expect((await admin("POST", `/orgs/${org}/invitations`, { email: email(), role: "owner" }, asSession(orgAdmin))).status).toBe(403);
    expect((await admin("POST", `/orgs/${org}/invitations`, { email: email(), role: "owner" }, asSession(owner))).status).toBe(201);
  });

  it("rejects a malformed email or role with 400 invalid_request", async () => {
    const org = await createOrg("Bad input");
    const res = await admin("POST", `/orgs/${org}/invitations`, { email: "not an email", role: "god" });
    expect(res.status).toBe(400);
    expect((await json<{ details: { issues: { path: string }[] } }>(res)).details.issues.map((i) => i.path).sort()).toEqual(["email", "role"]);
  });
});

describe("GET /_keygate/v1/keys?state=", () => {
  it("returns exactly the keys whose state (src/schemas/key-state.ts) includes it, for every state", async () => {
    const org = await createOrg("States");
    const day = 86_400_000;
    const ids = {
      active: (await createKey({ org_id: org, scopes: ["content:read"] })).id,
      expiring: (await createKey({ org_id: org, scopes: ["content:read"], expires_at: new Date(Date.now() + 2 * day).toISOString() })).id,
      report: (await createKey({ org_id: org, scopes: ["content:read"], restrictions_mode: "report" })).id,
      revoked: (await createKey({ org_id: org, scopes: ["content:read"] })).id,
      expired: (await createKey({ org_id: org, scopes: ["content:read"] })).id,
      stale: (await createKey({ org_id: org, scopes: ["content:read"] })).id,
      grace: (await createKey({ org_id: org, scopes: ["content:read"] })).id,
    };
    await admin("DELETE", `/keys/${ids.revoked}`);
    await admin("POST", `/keys/${ids.grace}/rotate`, { grace_seconds: 3600 });
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - day).toISOString(), ids.expired).run();
    await env.DB.prepare("UPDATE api_keys SET created_at = ?, last_used_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 60 * day).toISOString(), new Date(Date.now() - 31 * day).toISOString(), ids.stale)
      .run();
    const all = (await json<{ data: (Parameters<typeof keyStates>[0] & { id: string })[] }>(await admin("GET", `/keys?org_id=${org}&limit=100`))).data;
    for (const state of KEY_STATES) {
      const listed = (await json<{ data: { id: string }[] }>(await admin("GET", `/keys?org_id=${org}&state=${state}&limit=100`))).data.map((k) => k.id);
      const expected = all.filter((key) => keyStates(key).includes(state)).map((key) => key.id);
      expect(listed.sort(), state).toEqual(expected.sort());
      expect(listed.length, state).toBeGreaterThan(0);
    }
  });

  it("filters by an exact granted scope and by the start of the key prefix", async () => {
    const org = await createOrg("Scope filter");
    const stories = await createKey({ org_id: org, scopes: ["stories:read"] });
    await createKey({ org_id: org, scopes: ["content:read"] });
    const byScope = (await json<{ data: { id: string }[] }>(await admin("GET", `/keys?org_id=${org}&scope=stories:read`))).data;
    expect(byScope.map((k) => k.id)).toEqual([stories.id]);
    const byPrefix = (await json<{ data: { id: string }[] }>(await admin("GET", `/keys?org_id=${org}&prefix=${stories.key.slice(0, 12)}`))).data;
    expect(byPrefix.map((k) => k.id)).toEqual([stories.id]);
    expect((await admin("GET", `/keys?org_id=${org}&prefix=${encodeURIComponent("kg_%")}`)).status).toBe(400);
  });

  it("filters by a list of key ids, within the caller's org only", async () => {
    const org = await createOrg("Ids filter");
    const other = await createOrg("Ids filter, other org");
    const [a, b] = [await createKey({ org_id: org, scopes: ["stories:read"] }), await createKey({ org_id: org, scopes: ["stories:read"] })];
    await createKey({ org_id: org, scopes: ["stories:read"] });
    const foreign = await createKey({ org_id: other, scopes: ["stories:read"] });
    const listed = (await json<{ data: { id: string }[] }>(await admin("GET", `/keys?org_id=${org}&ids=${a.id},${b.id},${foreign.id},key_unknown`))).data;
    expect(listed.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
    expect((await admin("GET", `/keys?org_id=${org}&ids=`)).status).toBe(400);
    expect((await admin("GET", `/keys?org_id=${org}&ids=${Array.from({ length: 101 }, (_, i) => `key_${i}`).join(",")}`)).status).toBe(400);
  });
});

describe("GET /_keygate/v1/audit/series", () => {
  it("counts allowed, denied and would-deny events per hour and key from the rollups, oldest first, within the org", async () => {
    const org = await createOrg("Series");
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const at = (ms: number) => new Date(ms).toISOString();
    await writeEvents(env, [
      auditEvent({ org_id: org, key_id: "key_a", ts: at(hour + 60_000), outcome: "allowed" }),
      auditEvent({ org_id: org, key_id: "key_a", ts: at(hour + 120_000), outcome: "denied" }),
      auditEvent({ org_id: org, key_id: "key_b", ts: at(hour + 3_600_000), outcome: "would_deny" }),
      auditEvent({ org_id: org, key_id: "key_c", ts: at(hour + 60_000), outcome: "allowed" }),
      auditEvent({ org_id: "org_SOMEONEELSE", key_id: "key_a", ts: at(hour + 60_000), outcome: "allowed" }),
    ]);
    const res = await admin("GET", `/audit/series?org_id=${org}&since=${at(hour)}&key_ids=key_a,key_b`);
    expect(res.status).toBe(200);
    expect((await json<{ data: { points: unknown[] } }>(res)).data.points).toEqual([
      { t: at(hour), key_id: "key_a", allowed: 1, denied: 1, would_deny: 0 },
      { t: at(hour + 3_600_000), key_id: "key_b", allowed: 0, denied: 0, would_deny: 1 },
    ]);
  });

  it("needs key_ids (400 otherwise)", async () => {
    const org = await createOrg("Series without keys");
    expect((await admin("GET", `/audit/series?org_id=${org}`)).status).toBe(400);
  });
});
