/**
 * The admin API's OpenAPI document, served by the bundled Worker, is a valid OpenAPI 3.1 document
 * by the OpenAPI Initiative's own JSON Schema (checked in Node: the validator compiles schemas to
 * code, which workerd forbids).
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../helpers/local-worker.mjs";

const worker = await startLocalWorker();
afterAll(() => worker.dispose());

describe("GET /_keygate/v1/openapi.json from the bundled Worker", () => {
  it("validates against the OpenAPI 3.1 schema", async () => {
    const document = (await (await fetch(`${worker.url}/_keygate/v1/openapi.json`)).json()) as Parameters<Validator["validate"]>[0];
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("is linked from a docs page that renders every operation", async () => {
    const res = await fetch(`${worker.url}/_keygate/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("/_keygate/v1/openapi.json");
    expect(html).toContain("POST /keys/{id}/rotate");
  });
});
