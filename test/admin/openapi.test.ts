/**
 * SPEC §8: the admin API is described by an OpenAPI 3.1 document at `/_keygate/v1/openapi.json`,
 * generated from the zod schemas that validate it. Every route the admin app registers is in it.
 */
import { describe, expect, it } from "vitest";
import { admin as adminApp } from "../../src/admin";
import { call, json } from "../helpers/worker";

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { parameters: { name: string }[]; requestBody?: unknown; security: unknown[] }>>;
}

const document = async () => json<Document>(await call("/_keygate/v1/openapi.json"));

describe("GET /_keygate/v1/openapi.json", () => {
  it("is public JSON declaring OpenAPI 3.1", async () => {
    const res = await call("/_keygate/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await json<Document>(res)).openapi).toBe("3.1.0");
  });

  it("documents every route the admin app registers, and nothing else", async () => {
    const registered = adminApp.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/\/$/, "").replace(/:(\w+)/g, "{$1}")}`);
    expect(registered).toContain("post /keys/{id}/rotate");
    const documented = Object.entries((await document()).paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    expect(new Set(documented)).toEqual(new Set(registered));
  });

  it("derives parameters and bodies from the validating schemas", async () => {
    const { paths } = await document();
    expect(paths["/keys"]!.get!.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(["limit", "cursor", "org_id", "project_id"]));
    expect(paths["/keys"]!.post!.requestBody).toMatchObject({
      content: { "application/json": { schema: { properties: { scopes: { type: "array" }, allowed_ips: { type: "array" } } } } },
    });
    expect(paths["/audit"]!.get!.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(["outcome", "since", "until", "format"]));
    expect(paths["/scopes"]!.get!.security).toEqual([]);
  });

  it("describes GET /scopes with the fields it answers, preset limits included", async () => {
    const doc = (await document()) as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const answered = (await json<{ data: Record<string, unknown> }>(await call("/_keygate/v1/scopes"))).data;
    const schema = JSON.stringify(doc.paths["/scopes"]!.get!.responses["200"]);
    for (const field of Object.keys(answered)) expect(schema).toContain(`"${field}"`);
    expect(schema).toContain('"rate_limits"');
    expect(schema).toContain('"quota"');
  });
});
