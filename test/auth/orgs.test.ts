/**
 * One list of orgs: better-auth's organizations are the `orgs` table the admin API manages.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { authPost, createOrgAs, signUp } from "../helpers/auth";
import { admin, createProject, json } from "../helpers/worker";

interface Org {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

async function createOrgWithAdmin(name: string): Promise<Org> {
  const res = await admin("POST", "/orgs", { name });
  expect(res.status).toBe(201);
  return (await json<{ data: Org }>(res)).data;
}

describe("orgs shared by the admin API and better-auth", () => {
  it("lists an org created from a dashboard in GET /_keygate/v1/orgs, and accepts projects in it", async () => {
    const user = await signUp();
    const orgId = await createOrgAs(user, "Dashboard Co");
    const res = await admin("GET", "/orgs?limit=1000");
    const listed = (await json<{ data: Org[] }>(res)).data.find((org) => org.id === orgId);
    expect(listed).toMatchObject({ id: orgId, name: "Dashboard Co" });
    expect(listed!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await createProject(orgId, "dashboard_product")).toBe("dashboard_product");
  });

  it("POST /_keygate/v1/orgs derives a slug from the name", async () => {
    const org = await createOrgWithAdmin("Café Ünïcode & Co.");
    expect(org.slug).toBe("cafe-unicode-co");
    const row = await env.DB.prepare("SELECT slug, logo, metadata FROM orgs WHERE id = ?").bind(org.id).first();
    expect(row).toEqual({ slug: "cafe-unicode-co", logo: null, metadata: null });
  });

  it("POST /_keygate/v1/orgs keeps slugs unique by appending the end of the org id", async () => {
    const first = await createOrgWithAdmin("Twin Org");
    const second = await createOrgWithAdmin("Twin Org");
    expect(first.slug).toBe("twin-org");
    expect(second.slug).toBe(`twin-org-${second.id.slice(-8).toLowerCase()}`);
  });

  it("POST /_keygate/v1/orgs falls back to the slug org for a name without letters or digits", async () => {
    expect((await createOrgWithAdmin("!!! ???")).slug).toMatch(/^org(-[0-9a-z]{8})?$/);
  });

  it("makes a slug taken by the admin API unavailable to dashboards", async () => {
    const org = await createOrgWithAdmin("Taken Slug Inc");
    const user = await signUp();
    const res = await authPost("/organization/create", { name: "Copycat", slug: org.slug }, user.cookie);
    expect(res.status).toBe(400);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM orgs WHERE slug = ?").bind(org.slug).first("n")).toBe(1);
  });

  it("lets the creator of a dashboard org be its owner, in members", async () => {
    const user = await signUp();
    const orgId = await createOrgAs(user);
    const member = await env.DB.prepare("SELECT user_id, role FROM members WHERE org_id = ?").bind(orgId).all();
    expect(member.results).toEqual([{ user_id: user.userId, role: "owner" }]);
  });

  it("never deletes an org from a dashboard (keys, projects and audit events belong to it)", async () => {
    const user = await signUp();
    const orgId = await createOrgAs(user);
    const res = await authPost("/organization/delete", { organizationId: orgId }, user.cookie);
    expect(res.status).toBe(404);
    expect(await env.DB.prepare("SELECT id FROM orgs WHERE id = ?").bind(orgId).first("id")).toBe(orgId);
  });
});
