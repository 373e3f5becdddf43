import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers health", async () => {
    const res = await SELF.fetch("https://gw.test/_keygate/health");
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM orgs").first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});
