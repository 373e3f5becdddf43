/**
 * SPEC §8 projects: ids are unique across orgs, and only ADMIN_TOKEN chooses an origin's own id,
 * so no tenant can take another tenant's project id and be forwarded as that project.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, createKey, createOrg, createProject, type Echo, json } from "../helpers/worker";

let victimOrg: string;
let attackerOrg: string;
let attackerAdmin: Record<string, string>;

beforeAll(async () => {
  victimOrg = await createOrg("Victim");
  attackerOrg = await createOrg("Attacker");
  await createProject(victimOrg, "product_victim_1");
  const key = await createKey({ org_id: attackerOrg, scopes: ["keygate:projects:write", "keygate:keys:write", "projects:read"] });
  attackerAdmin = { "x-api-key": key.key };
});

describe("POST /_keygate/v1/projects", () => {
  it("answers 409 conflict when ADMIN_TOKEN gives another org a project id that is taken", async () => {
    const res = await admin("POST", "/projects", { org_id: attackerOrg, name: "Squat", id: "product_victim_1" });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ ok: false, code: "CONFLICT", message: "conflict" });
    const listed = await json<{ data: { id: string }[] }>(await admin("GET", `/projects?org_id=${attackerOrg}`));
    expect(listed.data.map((p) => p.id)).not.toContain("product_victim_1");
  });

  it("answers 409 conflict for an id the same org already uses", async () => {
    const res = await admin("POST", "/projects", { org_id: victimOrg, name: "Again", id: "product_victim_1" });
    expect(res.status).toBe(409);
  });

  it("answers 400 when an admin API key chooses an id that is not a prj_ id, and creates nothing", async () => {
    const res = await admin("POST", "/projects", { name: "Squat", id: "product_victim_1" }, attackerAdmin);
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ code: "BAD_REQUEST", message: "invalid_request", details: { issues: [{ path: "id" }] } });
    const fresh = await admin("POST", "/projects", { name: "Fresh", id: "product_unused_9" }, attackerAdmin);
    expect(fresh.status).toBe(400);
    const listed = await json<{ data: { id: string }[] }>(await admin("GET", `/projects?org_id=${attackerOrg}`));
    expect(listed.data.map((p) => p.id)).not.toContain("product_unused_9");
  });

  it("lets an admin API key create a project with a generated prj_ id", async () => {
    const res = await admin("POST", "/projects", { name: "Own" }, attackerAdmin);
    expect(res.status).toBe(201);
    expect((await json<{ data: { id: string; org_id: string } }>(res)).data).toMatchObject({ id: expect.stringMatching(/^prj_[0-9A-Z]{26}$/), org_id: attackerOrg });
  });

  it("keeps the victim's project routes closed to the other org's key", async () => {
    const res = await call("/api/v1/projects/product_victim_1", { headers: attackerAdmin });
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ message: "project_mismatch" });
  });

  it("lets ADMIN_TOKEN choose an origin's own id", async () => {
    expect(await createProject(victimOrg, "product_victim_2")).toBe("product_victim_2");
    const key = await createKey({ org_id: victimOrg, scopes: ["projects:read"] });
    const res = await call("/api/v1/projects/product_victim_2", { headers: { "x-api-key": key.key } });
    expect((await json<Echo>(res)).headers).toMatchObject({ "x-keygate-org-id": victimOrg, "x-keygate-project-id": "product_victim_2" });
  });
});
