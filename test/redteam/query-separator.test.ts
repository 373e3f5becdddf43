/**
 * Red team, SPEC §5 `{query}`: a query parameter an origin framework reads as the locator is a
 * value the project check sees. Rack 2 (Rails) and other form parsers also split a query on `;`,
 * so `?x=1;productId=<another org's project>` named a project Keygate never checked.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, createOrg, createProject, type Echo, json } from "../helpers/worker";

let ownProject: string;
let foreignProject: string;
let unboundKey: string;
let boundKey: string;
beforeAll(async () => {
  const org = await createOrg("Query separator org");
  ownProject = await createProject(org);
  foreignProject = await createProject(await createOrg("Query separator victim"));
  unboundKey = (await createKey({ org_id: org, scopes: ["content:read"] })).key;
  boundKey = (await createKey({ org_id: org, project_id: ownProject, scopes: ["content:read"] })).key;
});

const pages = (key: string, query: string) => call(`/api/v1/site/pages?${query}`, { headers: { "x-api-key": key } });

describe("a project named after a `;` separator is checked like any other", () => {
  it("refuses another org's project named after a `;`", async () => {
    const res = await pages(unboundKey, `x=1;productId=${foreignProject}`);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ ok: false, code: "FORBIDDEN", message: "project_mismatch" });
  });

  it("refuses a second project value hidden after a `;`", async () => {
    const res = await pages(boundKey, `productId=${ownProject}&x=1;%20productId=${foreignProject}`);
    expect(res.status).toBe(400);
  });

  it("still reads a project given with `;` separators", async () => {
    const res = await pages(boundKey, `x=1;productId=${ownProject}`);
    expect(res.status).toBe(200);
    expect((await json<Echo>(res)).headers["x-keygate-project-id"]).toBe(ownProject);
  });
});
