/**
 * SPEC §6: the origin may be another Worker behind the `ORIGIN_SERVICE` service binding, with the
 * same forwarding contract as ORIGIN_URL. The origin here is test/fixtures/origin-worker.mjs,
 * which answers with exactly what it received.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { verifyKeygateSignature } from "../../src/origin/signature";
import { createKey, createOrg, createProject, json } from "../helpers/worker";

interface Received {
  origin: "service";
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const SECRET = "service-origin-secret";
let org: string;

beforeAll(async () => {
  org = await createOrg();
  await createProject(org, "product_1");
});

function viaService(request: Request, vars: Partial<typeof env> = {}) {
  return worker.fetch(request, { ...env, ORIGIN_SERVICE: env.TEST_ORIGIN_SERVICE, ORIGIN_SECRET: SECRET, ...vars }, createExecutionContext());
}

describe("ORIGIN_SERVICE", () => {
  it("sends an allowed request to the origin Worker with exactly the forwarded headers, and returns its response", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:write"] });
    const res = await viaService(
      new Request("https://gw.test/api/v1/site/pages?productId=product_1", {
        method: "POST",
        body: '{"title":"hello"}',
        headers: {
          "content-type": "application/json",
          "x-api-key": key.key,
          "x-custom": "kept",
          "x-keygate-org-id": "org_forged",
          x_keygate_caller: "admin",
          "x-http-method-override": "DELETE",
          cookie: "theme=dark; better-auth.session_token=tok.sig",
          "x-request-id": "client-id",
        },
      }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("x-origin-worker")).toBe("1");
    const received = await json<Received>(res);
    expect(received).toMatchObject({ origin: "service", method: "POST", url: "https://gw.test/api/v1/site/pages?productId=product_1", body: '{"title":"hello"}' });
    expect(received.headers).toEqual({
      "content-type": "application/json",
      "content-length": "17",
      // workerd's rendering of `cache: "no-store"` (never served from a cache, SPEC §6).
      "cache-control": "no-cache",
      pragma: "no-cache",
      "x-custom": "kept",
      cookie: "theme=dark",
      "x-keygate-caller": "api_key",
      "x-keygate-key-id": key.id,
      "x-keygate-org-id": org,
      "x-keygate-project-id": "product_1",
      "x-keygate-scopes": "content:write",
      "x-keygate-request-id": res.headers.get("x-request-id"),
      "x-keygate-timestamp": expect.stringMatching(/^\d+$/),
      "content-digest": "sha-256=:z2xjziURawTjt3ailXYG4Y2Kx5jd4h4+wwiCrC374Ms=:",
      "x-keygate-signature": expect.any(String),
    });
    const atOrigin = new Request(received.url, { method: received.method, headers: received.headers, body: received.body });
    const verified = await verifyKeygateSignature(atOrigin, SECRET);
    expect(verified).toMatchObject({ ok: true, version: "v2", identity: { keyId: key.id, orgId: org } });
    expect(verified.ok && (await verified.request.json())).toEqual({ title: "hello" });
  });

  it("puts ORIGIN_URL's host and base path on the URL the origin Worker sees when both are set", async () => {
    const res = await viaService(new Request("https://gw.test/public/docs?x=1"), { ORIGIN_URL: "https://origin.internal/base" });
    expect((await json<Received>(res)).url).toBe("https://origin.internal/base/public/docs?x=1");
  });

  it("still refuses what the checks refuse, without calling the origin", async () => {
    const res = await viaService(new Request("https://gw.test/api/v1/site/pages?productId=product_1"));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ ok: false, code: "UNAUTHORIZED" });
  });
});
