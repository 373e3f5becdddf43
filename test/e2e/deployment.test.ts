/**
 * The bundle `wrangler deploy --dry-run` makes of the repository's own wrangler.toml, run in
 * workerd without ORIGIN_URL and without the local-only ECHO: health is degraded naming the
 * setting, and routed requests answer 502 instead of a silent echo.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../helpers/local-worker.mjs";

const worker = await startLocalWorker({ bindings: { ECHO: "" } });
afterAll(() => worker.dispose());

describe("the deployed bundle without ORIGIN_URL", () => {
  it("reports health degraded with the missing setting", async () => {
    const res = await fetch(`${worker.url}/_keygate/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false, data: { status: "degraded", problems: [expect.stringContaining("ORIGIN_URL")] } });
  });

  it("answers 502 on a public route instead of echoing", async () => {
    const res = await fetch(`${worker.url}/public/anything`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ ok: false, code: "BAD_GATEWAY" });
  });
});
