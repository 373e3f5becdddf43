import { it } from "vitest";
import { compilePolicy } from "../../src/gateway/policy";
const base = { scopes: { "a:read": "x" }, routes: [{ method: "GET", path: "/a", scopes: ["a:read"] }] };
const cases: unknown[] = [
  { ...base, scopes: { "Bad": "x", "a:read": "" } },
  { ...base, routes: [{ method: "GET", path: "/a", project: { params: "x" } }] },
  { ...base, routes: [{ method: "GET", path: "/a", project: { header: "bad header" } }] },
  { ...base, routes: [{ method: "GET", path: "/a", project: "orig" }] },
  { ...base, routes: [{ method: "get", path: "a" }] },
  { ...base, cors: { origins: ["https://a.com:443", "https://A.com", "*"] } },
  { ...base, routes: [{ method: "GET", path: "/a/:id{[}" }] },
  { ...base, routes: [] },
  null,
];
it("prints", () => {
  for (const c of cases) { try { compilePolicy(c); console.log("OK"); } catch (e) { console.log((e as Error).message); } }
});
