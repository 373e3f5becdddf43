/**
 * SPEC §8 `GET /_keygate/health`: public liveness with D1 reachability, policy hash and version.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { call, json } from "../helpers/worker";

interface Health {
  ok: boolean;
  data: { status: string; d1: string; policy: { valid: boolean; hash?: string; error?: string }; version: string };
}

describe("GET /_keygate/health", () => {
  it("is public and reports D1, the policy hash and the version", async () => {
    const res = await call("/_keygate/health");
    expect(res.status).toBe(200);
    const body = await json<Health>(res);
    expect(body).toMatchObject({ ok: true, data: { status: "ok", d1: "reachable", policy: { valid: true }, version: expect.any(String) } });
    expect(body.data.policy.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers 503 naming the problem when the policy is invalid", async () => {
    const res = await worker.fetch(new Request("https://gw.test/_keygate/health"), { ...env, POLICY: "{" }, createExecutionContext());
    expect(res.status).toBe(503);
    expect((await json<Health>(res)).data.policy).toEqual({ valid: false, error: "POLICY is not valid JSON" });
  });

  it("probes D1 at most every 5 seconds", async () => {
    vi.useFakeTimers({ now: Date.now() + 3_600_000, toFake: ["Date"] });
    const spy = vi.spyOn(env.DB, "prepare");
    await call("/_keygate/health");
    await call("/_keygate/health");
    expect(spy.mock.calls.filter(([sql]) => sql === "SELECT 1")).toHaveLength(1);
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
});
