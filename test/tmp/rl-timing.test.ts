import { it } from "vitest";
import { call, createKey, createOrg } from "../helpers/worker";
it("timing", async () => {
  const org = await createOrg();
  const plain = await createKey({ org_id: org, scopes: ["content:read"] });
  const limited = await createKey({ org_id: org, scopes: ["content:read"], rate_limits: [{ name: "b", limit: 1000000, window_s: 60, tier: "exact" }] });
  for (const [name, key] of [["plain", plain.key], ["limited", limited.key], ["plain", plain.key], ["limited", limited.key]] as const) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await (await call("/api/v1/site/pages", { headers: { "x-api-key": key } })).arrayBuffer();
    console.log(name, ((performance.now() - t0) / 200).toFixed(2), "ms/req");
  }
}, 60_000);
