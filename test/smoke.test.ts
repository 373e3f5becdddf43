import { describe, expect, it } from "vitest";
import { call, createKey, createOrg, json } from "./helpers/worker";

describe("smoke", () => {
  it("forwards a request with a valid key", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call("/api/v1/site/pages", { headers: { "x-api-key": key.key } });
    const body = await json<{ headers: Record<string, string> }>(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.headers["x-keygate-key-id"]).toBe(key.id);
  });
});
