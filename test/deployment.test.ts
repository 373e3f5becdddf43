/**
 * What a deployment of the repository's own wrangler.toml does when a setting is missing: it never
 * echoes (ECHO is local development only), it answers 502 without an origin, and a missing secret
 * is a configuration error named in health and in the 503 it causes, never a 500.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createKey, createOrg, json } from "./helpers/worker";
import { SESSION_COOKIE_NAME } from "./helpers/auth";

interface Health {
  ok: boolean;
  data: { status: string; problems: string[] };
}

/** The Worker with some bindings removed, as a deployment without those settings would have it. */
function fetchWithout(names: (keyof typeof env)[], path: string, init: RequestInit = {}) {
  const deployed = { ...env };
  for (const name of names) delete deployed[name];
  return worker.fetch(new Request(`https://gw.test${path}`, init), deployed, createExecutionContext());
}

describe("a deployment without ORIGIN_URL or ECHO", () => {
  it("reports health degraded, naming ORIGIN_URL", async () => {
    const res = await fetchWithout(["ECHO"], "/_keygate/health");
    expect(res.status).toBe(503);
    const body = await json<Health>(res);
    expect(body.data.status).toBe("degraded");
    expect(body.data.problems).toEqual([expect.stringContaining("ORIGIN_URL is not set")]);
  });

  it("reports health ok when ORIGIN_SERVICE is the origin instead", async () => {
    const deployed: Partial<typeof env> = { ...env, ORIGIN_SERVICE: env.TEST_ORIGIN_SERVICE };
    delete deployed.ECHO;
    const res = await worker.fetch(new Request("https://gw.test/_keygate/health"), deployed as typeof env, createExecutionContext());
    expect((await json<Health>(res)).data.problems).toEqual([]);
    expect(res.status).toBe(200);
  });

  it("answers 502 on an allowed request instead of echoing it", async () => {
    const key = await createKey({ org_id: await createOrg(), scopes: ["prompts:read"] });
    const res = await fetchWithout(["ECHO"], "/api/v1/prompts", { headers: { "x-api-key": key.key } });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ ok: false, code: "BAD_GATEWAY" });
  });
});

describe("a deployment without BETTER_AUTH_SECRET", () => {
  it("reports health degraded, naming the secret", async () => {
    const body = await json<Health>(await fetchWithout(["BETTER_AUTH_SECRET"], "/_keygate/health"));
    expect(body.data.problems).toEqual([expect.stringContaining("BETTER_AUTH_SECRET is not set")]);
  });

  it("answers 503 UNAVAILABLE naming the setting to a request with a session cookie", async () => {
    const res = await fetchWithout(["BETTER_AUTH_SECRET"], "/api/v1/prompts", {
      headers: { cookie: `${SESSION_COOKIE_NAME}=token.signature` },
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false, code: "UNAVAILABLE", message: expect.stringContaining("BETTER_AUTH_SECRET") });
  });

  it("answers 503 UNAVAILABLE on the sign-in endpoint", async () => {
    const res = await fetchWithout(["BETTER_AUTH_SECRET"], "/_keygate/auth/sign-in/email", { method: "POST" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "UNAVAILABLE" });
  });
});

describe("health of the test deployment", () => {
  it("lists no problems when every setting is present", async () => {
    const res = await worker.fetch(new Request("https://gw.test/_keygate/health"), env, createExecutionContext());
    expect((await json<Health>(res)).data.problems).toEqual([]);
  });
});
