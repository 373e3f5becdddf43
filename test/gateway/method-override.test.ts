/**
 * Method override by parameter (README "Method overrides"): a POST that a Laravel, Rails or
 * Express origin would run as DELETE/PUT/PATCH because of a `_method` query parameter or form
 * field never reaches the origin; the caller gets a 400 `invalid_request` naming the parameter.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { MAX_CHECKED_FORM_BYTES } from "../../src/gateway/method-override";
import { call, createKey, createOrg, json, type Echo } from "../helpers/worker";

const PUBLISH = "/api/v1/stories/story_1/publish";
let publishKey: string;

beforeAll(async () => {
  const org = await createOrg();
  publishKey = (await createKey({ org_id: org, scopes: ["stories:publish"] })).key;
});

function post(path: string, body?: BodyInit, headers: Record<string, string> = {}) {
  return call(path, { method: "POST", body, headers: { "x-api-key": publishKey, ...headers } });
}

async function expectRefused(res: Response, path: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = await json<{ ok: boolean; code: string; message: string; details: { issues: { path: string; message: string }[] } }>(res);
  expect(body).toMatchObject({ ok: false, code: "BAD_REQUEST", message: "invalid_request" });
  expect(body.details.issues.map((issue) => issue.path)).toEqual([path]);
}

function multipart(fields: [name: string, value: string][], boundary = "----kgBoundary7MA4YWxk"): { body: string; type: string } {
  const parts = fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

describe("a _method query parameter", () => {
  it.each(["_method=DELETE", "_METHOD=DELETE", "_method[]=DELETE", "%5Fmethod=DELETE", "x=1;_method=DELETE", "+_method+=DELETE", ".method=DELETE", "[method=DELETE"])(
    "refuses ?%s with 400 naming query._method, before the origin sees it",
    async (query) => {
      await expectRefused(await post(`${PUBLISH}?${query}`), "query._method");
    },
  );

  it("is refused on GET too, whatever the origin does with it", async () => {
    const org = await createOrg();
    const key = await createKey({ org_id: org, scopes: ["stories:read"] });
    await expectRefused(await call("/api/v1/stories?_method=DELETE", { headers: { "x-api-key": key.key } }), "query._method");
  });

  it("leaves other names alone, such as _methods or method", async () => {
    const res = await post(`${PUBLISH}?method=DELETE&_methods=x`);
    expect(res.status).toBe(200);
    expect((await json<Echo>(res)).query).toBe("method=DELETE&_methods=x");
  });

  it("answers an unauthenticated caller 401, not 400: credentials are checked first", async () => {
    const res = await call(`${PUBLISH}?_method=DELETE`, { method: "POST" });
    expect(res.status).toBe(401);
  });
});

describe("a _method form field", () => {
  it.each([
    ["application/x-www-form-urlencoded", "title=x&_method=DELETE"],
    ["application/x-www-form-urlencoded; charset=UTF-8", "_Method%5B%5D=PATCH"],
    ["APPLICATION/X-WWW-FORM-URLENCODED", "a=1;_method=PUT"],
  ])("refuses a %s body %j with 400 naming body._method", async (type, body) => {
    await expectRefused(await post(PUBLISH, body, { "content-type": type }), "body._method");
  });

  it("refuses a POST body without a Content-Type, which Rack reads as a form", async () => {
    // A string body would get text/plain; bytes go without a Content-Type.
    await expectRefused(await post(PUBLISH, new TextEncoder().encode("_method=DELETE")), "body._method");
  });

  it("refuses a multipart/form-data field named _method", async () => {
    const { body, type } = multipart([["title", "x"], ["_method", "DELETE"]]);
    await expectRefused(await post(PUBLISH, body, { "content-type": type }), "body._method");
  });

  it("refuses a multipart field named through RFC 5987 (name*=) or a folded header", async () => {
    const boundary = "b0undary";
    const star = `--${boundary}\r\nContent-Disposition: form-data; name*=utf-8''%5Fmethod\r\n\r\nDELETE\r\n--${boundary}--\r\n`;
    await expectRefused(await post(PUBLISH, star, { "content-type": `multipart/form-data; boundary=${boundary}` }), "body._method");
    const folded = `--${boundary}\r\nContent-Disposition: form-data;\r\n name="_method"\r\n\r\nDELETE\r\n--${boundary}--\r\n`;
    await expectRefused(await post(PUBLISH, folded, { "content-type": `multipart/form-data; boundary=${boundary}` }), "body._method");
  });

  it("refuses a multipart body without a boundary, which it cannot scan", async () => {
    await expectRefused(await post(PUBLISH, "_method=DELETE", { "content-type": "multipart/form-data" }), "body");
  });

  it("refuses a compressed form or JSON body (Content-Encoding), which Express's body-parser inflates before method-override reads _method", async () => {
    const gzip = (text: string) => new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
    const form = await gzip("_method=DELETE");
    await expectRefused(await post(PUBLISH, form, { "content-type": "application/x-www-form-urlencoded", "content-encoding": "gzip" }), "body");
    const jsonBody = await gzip('{"_method":"DELETE"}');
    await expectRefused(await post(PUBLISH, jsonBody, { "content-type": "application/json", "content-encoding": "gzip" }), "body");
    // `identity` is no encoding.
    expect((await post(PUBLISH, "title=x", { "content-type": "application/x-www-form-urlencoded", "content-encoding": "identity" })).status).toBe(200);
  });

  it("forwards a form without the field, with its exact body", async () => {
    const form = "title=hello&body=a%20b";
    const { body, type } = multipart([["title", "x"], ["filename", "_method"]]);
    const res = await viaOrigin(new Request(`https://gw.test${PUBLISH}`, { method: "POST", body: form, headers: { "x-api-key": publishKey, "content-type": "application/x-www-form-urlencoded" } }));
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ method: "POST", body: form });
    const multi = await viaOrigin(new Request(`https://gw.test${PUBLISH}`, { method: "POST", body, headers: { "x-api-key": publishKey, "content-type": type } }));
    expect(multi.status).toBe(201);
    expect(await json(multi)).toMatchObject({ method: "POST", body });
  });

  it("refuses a JSON body whose top-level object has a _method key, which Laravel reads as a form field", async () => {
    await expectRefused(await post(PUBLISH, '{"title":"x","_method":"DELETE"}', { "content-type": "application/json" }), "body._method");
  });

  it("forwards JSON that only mentions _method below the top level", async () => {
    const res = await post(PUBLISH, '{"data":{"_method":"DELETE"}}', { "content-type": "application/json" });
    expect(res.status).toBe(200);
  });

  it("leaves text and other bodies unscanned", async () => {
    const res = await post(PUBLISH, "_method=DELETE", { "content-type": "text/plain" });
    expect(res.status).toBe(200);
  });
});

/** Through the origin Worker of test/fixtures/origin-worker.mjs, which reads the whole body and answers 201. */
function viaOrigin(request: Request) {
  return worker.fetch(request, { ...env, ORIGIN_SERVICE: env.TEST_ORIGIN_SERVICE }, createExecutionContext());
}

describe("a form body over the checked size", () => {
  const padding = "x".repeat(MAX_CHECKED_FORM_BYTES + 1000);

  it("still streams to the origin whole when it has no _method field", async () => {
    const body = `title=${padding}&done=1`;
    const res = await viaOrigin(new Request(`https://gw.test${PUBLISH}`, { method: "POST", body, headers: { "x-api-key": publishKey, "content-type": "application/x-www-form-urlencoded" } }));
    expect(res.status).toBe(201);
    expect((await json<{ body: string }>(res)).body.length).toBe(body.length);
  });

  it("never reaches the origin whole when the field comes after the bound, and answers the same 400", async () => {
    const body = `title=${padding}&_method=DELETE`;
    const res = await viaOrigin(new Request(`https://gw.test${PUBLISH}`, { method: "POST", body, headers: { "x-api-key": publishKey, "content-type": "application/x-www-form-urlencoded" } }));
    await expectRefused(res, "body._method");
  });

  it("refuses a multipart field after the bound the same way", async () => {
    const { body, type } = multipart([["file", padding], ["_method", "DELETE"]]);
    const res = await viaOrigin(new Request(`https://gw.test${PUBLISH}`, { method: "POST", body, headers: { "x-api-key": publishKey, "content-type": type } }));
    await expectRefused(res, "body._method");
  });
});
