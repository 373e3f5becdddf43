/**
 * SPEC §4: with D1 down the admin API fails closed like the gateway, 503 `UNAVAILABLE` with
 * `Retry-After`, for reads and writes; a statement SQLite refuses stays a 500 (a bug, not an outage).
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { admin, createKey, createOrg, json } from "../helpers/worker";

let org: string;
let keyId: string;

beforeAll(async () => {
  org = await createOrg();
  keyId = (await createKey({ org_id: org, scopes: ["content:read"] })).id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** D1 refuses every statement, at prepare or when it runs, as its binding does in an outage. */
function breakD1(message = "D1_ERROR: Network connection lost."): void {
  const fail = () => Promise.reject(new Error(message));
  const statement = { bind: () => statement, first: fail, all: fail, run: fail, raw: fail };
  vi.spyOn(env.DB, "prepare").mockImplementation(() => statement as unknown as D1PreparedStatement);
  vi.spyOn(env.DB, "batch").mockImplementation(fail);
  vi.spyOn(env.DB, "withSession").mockImplementation(() => {
    throw new Error("D1_ERROR: D1 DB is overloaded. Requests queued for too long.");
  });
}

const calls: [string, string, unknown?][] = [
  ["GET", "/orgs"],
  ["GET", "/projects?org_id=ORG"],
  ["GET", "/keys?org_id=ORG"],
  ["GET", "/keys/KEY"],
  ["GET", "/audit?org_id=ORG"],
  ["GET", "/audit/summary?org_id=ORG&group_by=key"],
  ["POST", "/orgs", { name: "Down Inc" }],
  ["POST", "/projects", { org_id: "ORG", name: "p" }],
  ["POST", "/keys", { org_id: "ORG", name: "k", scopes: ["content:read"] }],
  ["PATCH", "/keys/KEY", { name: "renamed" }],
  ["POST", "/keys/KEY/rotate", {}],
  ["DELETE", "/keys/KEY"],
];

describe("admin API with D1 down", () => {
  it.each(calls)("answers %s %s with 503 UNAVAILABLE and Retry-After", async (method, path, body) => {
    const fill = (text: string) => text.replaceAll("ORG", org).replaceAll("KEY", keyId);
    const payload = body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body)));
    breakD1();
    const res = await admin(method, fill(path), payload);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await json(res)).toEqual({ ok: false, code: "UNAVAILABLE", message: "auth backend unavailable" });
  });

  it("answers 503 for the other messages D1 gives when it is unreachable or reset", async () => {
    for (const message of ["D1_ERROR: D1 DB reset because its code was updated.", "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset."]) {
      breakD1(message);
      expect((await admin("GET", "/orgs")).status).toBe(503);
      vi.restoreAllMocks();
    }
  });

  it("keeps a statement SQLite refuses a 500 INTERNAL, since retrying cannot fix it", async () => {
    breakD1("D1_ERROR: near \"SELEC\": syntax error at offset 0: SQLITE_ERROR");
    const res = await admin("GET", "/orgs");
    expect(res.status).toBe(500);
    expect(await json(res)).toEqual({ ok: false, code: "INTERNAL", message: "internal error" });
  });
});
