/**
 * SPEC §8 `/_keygate/v1/keys`: the key lifecycle, and bad input that gets a clear 4xx and changes
 * nothing.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { admin, call, createKey, createOrg, createProject, json, type CreatedKey } from "../helpers/worker";

interface Ok<T> {
  ok: true;
  data: T;
  next_cursor?: string | null;
}
interface Err {
  ok: false;
  code: string;
  message: string;
  details?: { issues?: { path: string; message: string }[]; missingScopes?: string[] };
}
type KeyRecord = CreatedKey & Record<string, unknown>;

let org: string;
beforeAll(async () => {
  org = await createOrg();
  await createProject(org, "product_1");
});

afterEach(() => {
  vi.useRealTimers();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const gatewayStatus = (key: string, path = "/api/v1/site/pages") => call(path, { headers: { "x-api-key": key } }).then((r) => r.status);

async function keyCount(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>())?.n ?? 0;
}

describe("POST /_keygate/v1/keys", () => {
  it("returns 201 with the record and the raw key once, storing only its prefix and hash", async () => {
    const res = await admin("POST", "/keys", { org_id: org, name: "ci", scopes: ["content:read"], project_id: "product_1" });
    expect(res.status).toBe(201);
    const { data } = await json<Ok<KeyRecord>>(res);
    expect(data.key).toMatch(/^kg_live_[0-9A-Za-z]{38}$/);
    expect(data).toMatchObject({
      id: expect.stringMatching(/^key_[0-9A-Z]{26}$/),
      org_id: org,
      project_id: "product_1",
      name: "ci",
      key_prefix: data.key.slice(0, 12),
      scopes: ["content:read"],
      preset: null,
      allowed_ips: [],
      allowed_origins: [],
      restrictions_mode: "enforce",
      not_before: null,
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      rotated_from: null,
      rotated_to: null,
    });
    expect(data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(data.id).first();
    expect(JSON.stringify(row)).not.toContain(data.key);
    const got = await json<Ok<KeyRecord>>(await admin("GET", `/keys/${data.id}`));
    expect(got.data).not.toHaveProperty("key");
  });

  it("expands and copies a preset", async () => {
    const key = await createKey({ org_id: org, preset: "publish-only" });
    expect(key).toMatchObject({ preset: "publish-only", scopes: ["stories:read", "stories:publish", "media:read"] });
  });

  it("normalizes allowlists and timestamps", async () => {
    const key = await createKey({
      org_id: org,
      scopes: ["content:read"],
      allowed_ips: ["10.1.2.3/8", "2001:DB8::1"],
      allowed_origins: ["HTTPS://App.Example.com:443"],
      expires_at: "2099-01-01T00:00:00Z",
    });
    expect(key).toMatchObject({
      allowed_ips: ["10.0.0.0/8", "2001:db8::1"],
      allowed_origins: ["https://app.example.com"],
      expires_at: "2099-01-01T00:00:00.000Z",
    });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ["scope *:read", { scopes: ["*:read"] }, "scopes.0"],
    ["scope a:b:c:d", { scopes: ["a:b:c:d"] }, "scopes.0"],
    ["scope Content:Read", { scopes: ["Content:Read"] }, "scopes.0"],
    ["scope content:", { scopes: ["content:"] }, "scopes.0"],
    ["a scope outside the catalog", { scopes: ["content:delete"] }, "scopes"],
    ["a wildcard covering no catalog scope", { scopes: ["nothing:*"] }, "scopes"],
    ["CIDR 10.0.0.0/33", { scopes: ["content:read"], allowed_ips: ["10.0.0.0/33"] }, "allowed_ips.0"],
    ["CIDR ::1/129", { scopes: ["content:read"], allowed_ips: ["::1/129"] }, "allowed_ips.0"],
    ["address 1.2.3", { scopes: ["content:read"], allowed_ips: ["1.2.3"] }, "allowed_ips.0"],
    ["address 01.2.3.4", { scopes: ["content:read"], allowed_ips: ["01.2.3.4"] }, "allowed_ips.0"],
    ["an origin with a path", { scopes: ["content:read"], allowed_origins: ["https://a.com/app"] }, "allowed_origins.0"],
    ["an origin without a scheme", { scopes: ["content:read"], allowed_origins: ["a.com"] }, "allowed_origins.0"],
    ["origin null", { scopes: ["content:read"], allowed_origins: ["null"] }, "allowed_origins.0"],
    ["expires_at in the past", { scopes: ["content:read"], expires_at: "2001-01-01T00:00:00Z" }, "expires_at"],
    ["expires_at before not_before", { scopes: ["content:read"], not_before: "2098-01-01T00:00:00Z", expires_at: "2097-01-01T00:00:00Z" }, "expires_at"],
    ["a non-UTC timestamp", { scopes: ["content:read"], expires_at: "2099-01-01T00:00:00+02:00" }, "expires_at"],
    ["an unknown field", { scopes: ["content:read"], admin: true }, "(root)"],
    ["both scopes and preset", { scopes: ["content:read"], preset: "read-only" }, "scopes"],
    ["neither scopes nor preset", {}, "scopes"],
    ["an unknown preset", { preset: "everything" }, "preset"],
    ["a project id with a slash", { scopes: ["content:read"], project_id: "a/b" }, "project_id"],
  ];
  it.each(bad)("rejects %s with 400 naming it, and creates nothing", async (_, body, path) => {
    const before = await keyCount();
    const res = await admin("POST", "/keys", { org_id: org, name: "bad", ...body });
    const err = await json<Err>(res);
    expect(res.status, JSON.stringify(err)).toBe(400);
    expect(err).toMatchObject({ ok: false, code: "BAD_REQUEST", message: "invalid_request" });
    expect(err.details?.issues?.map((issue) => issue.path)).toContain(path);
    expect(await keyCount()).toBe(before);
  });

  it("rejects a non-JSON body with 415 and one over 64 KB with 413", async () => {
    const before = await keyCount();
    const auth = { authorization: "Bearer test-admin-token-0123456789abcdef" };
    const text = await call("/_keygate/v1/keys", { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "name=x" });
    expect(text.status).toBe(415);
    expect(await json<Err>(text)).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    const huge = JSON.stringify({ org_id: org, name: "x".repeat(70_000), scopes: ["content:read"] });
    const big = await call("/_keygate/v1/keys", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: huge });
    expect(big.status).toBe(413);
    expect(await json<Err>(big)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    const broken = await call("/_keygate/v1/keys", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{" });
    expect(broken.status).toBe(400);
    expect(await keyCount()).toBe(before);
  });

  it("requires org_id with ADMIN_TOKEN and 404s an unknown org", async () => {
    expect((await admin("POST", "/keys", { name: "x", scopes: ["content:read"] })).status).toBe(400);
    expect((await admin("POST", "/keys", { org_id: "org_00000000000000000000000000", name: "x", scopes: ["content:read"] })).status).toBe(404);
    expect((await admin("POST", "/keys", { org_id: org, name: "x", scopes: ["content:read"], project_id: "nope" })).status).toBe(404);
  });
});

describe("keys created by a key", () => {
  it("never grant more than the creator holds", async () => {
    const creator = await createKey({ org_id: org, scopes: ["keygate:keys:write", "stories:*"] });
    const ok = await admin("POST", "/keys", { name: "child", scopes: ["stories:publish", "stories:*"] }, bearer(creator.key));
    expect(ok.status).toBe(201);
    expect((await json<Ok<KeyRecord>>(ok)).data.org_id).toBe(org);

    const before = await keyCount();
    const res = await admin("POST", "/keys", { name: "child", scopes: ["stories:read", "media:read"] }, bearer(creator.key));
    expect(res.status).toBe(403);
    expect(await json<Err>(res)).toMatchObject({ message: "insufficient_scope", details: { missingScopes: ["media:read"] } });
    const star = await admin("POST", "/keys", { name: "child", scopes: ["*"] }, bearer(creator.key));
    expect(star.status).toBe(403);
    expect(await keyCount()).toBe(before);
  });

  it("inherit the creator's project binding and never outlive it", async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const creator = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"], project_id: "product_1", expires_at: expires });
    const child = await json<Ok<KeyRecord>>(await admin("POST", "/keys", { name: "c", scopes: ["content:read"] }, bearer(creator.key)));
    expect(child.data).toMatchObject({ project_id: "product_1", expires_at: expires });

    const elsewhere = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], project_id: "product_2" }, bearer(creator.key));
    expect(elsewhere.status).toBe(403);
    const longer = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], expires_at: "2099-01-01T00:00:00Z" }, bearer(creator.key));
    expect(longer.status).toBe(400);
  });

  it("cannot set report mode (ADMIN_TOKEN only)", async () => {
    const creator = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"] });
    const res = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], restrictions_mode: "report" }, bearer(creator.key));
    expect(res.status).toBe(400);
  });

  it("cannot reach another org's org_id or key ids (404)", async () => {
    const other = await createOrg("Other");
    const foreign = await createKey({ org_id: other, scopes: ["content:read"] });
    const creator = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"] });
    expect((await admin("POST", "/keys", { org_id: other, name: "c", scopes: ["content:read"] }, bearer(creator.key))).status).toBe(404);
    expect((await admin("GET", `/keys/${foreign.id}`, undefined, bearer(creator.key))).status).toBe(404);
    expect((await admin("DELETE", `/keys/${foreign.id}`, undefined, bearer(creator.key))).status).toBe(404);
    expect(await gatewayStatus(foreign.key)).toBe(200);
  });
});

describe("restrictions of keys created by a key", () => {
  it("are inherited by default and may only narrow", async () => {
    const creator = await createKey({
      org_id: org,
      scopes: ["keygate:keys:write", "content:read"],
      allowed_ips: ["10.0.0.0/8"],
      allowed_origins: ["https://*.example.com"],
    });
    const auth = bearer(creator.key);
    const child = await json<Ok<KeyRecord>>(await admin("POST", "/keys", { name: "c", scopes: ["content:read"] }, { ...auth, "cf-connecting-ip": "10.0.0.1" }));
    expect(child.data).toMatchObject({ allowed_ips: ["10.0.0.0/8"], allowed_origins: ["https://*.example.com"] });

    const inside = { ...auth, "cf-connecting-ip": "10.0.0.1" };
    const narrower = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], allowed_ips: ["10.1.0.0/16"], allowed_origins: ["https://a.example.com"] }, inside);
    expect(narrower.status).toBe(201);

    const before = await keyCount();
    for (const wider of [{ allowed_ips: [] }, { allowed_ips: ["192.0.2.0/24"] }, { allowed_ips: ["10.0.0.0/7"] }, { allowed_origins: [] }, { allowed_origins: ["https://*.evil.test"] }]) {
      const res = await admin("POST", "/keys", { name: "c", scopes: ["content:read"], ...wider }, inside);
      expect(res.status, JSON.stringify(wider)).toBe(400);
    }
    expect(await keyCount()).toBe(before);
  });

  it("cannot be loosened on the caller's own key", async () => {
    const self = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"], allowed_ips: ["10.0.0.0/8"] });
    const res = await admin("PATCH", `/keys/${self.id}`, { allowed_ips: [] }, { ...bearer(self.key), "cf-connecting-ip": "10.0.0.1" });
    expect(res.status).toBe(400);
  });

  it("bind rotation: a restricted caller cannot rotate out a key that is usable from anywhere", async () => {
    const open = await createKey({ org_id: org, scopes: ["content:read"] });
    const caller = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"], allowed_ips: ["10.0.0.0/8"] });
    const res = await admin("POST", `/keys/${open.id}/rotate`, {}, { ...bearer(caller.key), "cf-connecting-ip": "10.0.0.1" });
    expect(res.status).toBe(400);
    expect(await gatewayStatus(open.key)).toBe(200);
  });
});

describe("GET /_keygate/v1/keys", () => {
  it("lists newest first with a cursor that neither skips nor repeats", async () => {
    const own = await createOrg("Paged");
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createKey({ org_id: own, scopes: ["content:read"] })).id);
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const res = await admin("GET", `/keys?org_id=${own}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      const body = await json<Ok<KeyRecord[]>>(res);
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((k) => k.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
  });

  it("rejects a limit over 1000 and a forged cursor", async () => {
    expect((await admin("GET", `/keys?org_id=${org}&limit=1001`)).status).toBe(400);
    expect((await admin("GET", `/keys?org_id=${org}&cursor=not-a-cursor`)).status).toBe(400);
  });

  it("shows a project-bound admin key only its project", async () => {
    const own = await createOrg("Bound");
    await createProject(own, "p1");
    await createProject(own, "p2");
    const inP1 = await createKey({ org_id: own, scopes: ["content:read"], project_id: "p1" });
    await createKey({ org_id: own, scopes: ["content:read"], project_id: "p2" });
    const reader = await createKey({ org_id: own, scopes: ["keygate:keys:read"], project_id: "p1" });
    const body = await json<Ok<KeyRecord[]>>(await admin("GET", "/keys", undefined, bearer(reader.key)));
    expect(body.data.map((k) => k.id).sort()).toEqual([inP1.id, reader.id].sort());
    expect((await admin("GET", "/keys?project_id=p2", undefined, bearer(reader.key))).status).toBe(404);
  });
});

describe("PATCH /_keygate/v1/keys/:id", () => {
  it("changes name, scopes (preset becomes null), allowlists and expiry", async () => {
    const key = await createKey({ org_id: org, preset: "read-only" });
    const res = await admin("PATCH", `/keys/${key.id}`, {
      name: "renamed",
      scopes: ["stories:read"],
      allowed_ips: ["10.0.0.0/8"],
      expires_at: "2099-01-01T00:00:00.000Z",
    });
    expect(res.status).toBe(200);
    expect((await json<Ok<KeyRecord>>(res)).data).toMatchObject({
      name: "renamed",
      scopes: ["stories:read"],
      preset: null,
      allowed_ips: ["10.0.0.0/8"],
      expires_at: "2099-01-01T00:00:00.000Z",
    });
  });

  it("rejects an empty change and unknown fields", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await admin("PATCH", `/keys/${key.id}`, {})).status).toBe(400);
    expect((await admin("PATCH", `/keys/${key.id}`, { project_id: "product_1" })).status).toBe(400);
  });

  it("refuses a caller whose scopes do not cover the key, or a change that widens past them", async () => {
    const target = await createKey({ org_id: org, scopes: ["content:read", "media:read"] });
    const editor = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"] });
    expect((await admin("PATCH", `/keys/${target.id}`, { name: "x" }, bearer(editor.key))).status).toBe(403);
    const own = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await admin("PATCH", `/keys/${own.id}`, { scopes: ["media:read"] }, bearer(editor.key))).status).toBe(403);
    const unchanged = await json<Ok<KeyRecord>>(await admin("GET", `/keys/${own.id}`));
    expect(unchanged.data.scopes).toEqual(["content:read"]);
  });

  it("answers 409 when extending an expired key", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"], expires_at: new Date(Date.now() + 1000).toISOString() });
    vi.useFakeTimers({ now: Date.now() + 5000, toFake: ["Date"] });
    expect((await admin("PATCH", `/keys/${key.id}`, { expires_at: "2099-01-01T00:00:00Z" })).status).toBe(409);
  });
});

describe("POST /_keygate/v1/keys/:id/rotate", () => {
  it("issues a linked successor; the old key works until the grace ends, then is expired", async () => {
    const old = await createKey({ org_id: org, scopes: ["content:read", "products:read"] });
    const res = await admin("POST", `/keys/${old.id}/rotate`, { grace_seconds: 60, scopes: ["content:read"] });
    expect(res.status).toBe(201);
    const next = (await json<Ok<KeyRecord>>(res)).data;
    expect(next).toMatchObject({ rotated_from: old.id, scopes: ["content:read"], org_id: org });
    expect(next.key).not.toBe(old.key);
    const oldRecord = (await json<Ok<KeyRecord>>(await admin("GET", `/keys/${old.id}`))).data;
    expect(oldRecord.rotated_to).toBe(next.id);

    expect(await gatewayStatus(old.key)).toBe(200);
    expect(await gatewayStatus(next.key)).toBe(200);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    const expired = await call("/api/v1/site/pages", { headers: { "x-api-key": old.key } });
    expect(expired.status).toBe(401);
    expect(await json<Err>(expired)).toMatchObject({ message: "api key expired" });
    expect(await gatewayStatus(next.key)).toBe(200);
  });

  it("ends the old key at once without grace, and accepts an empty body", async () => {
    const old = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await call(`/_keygate/v1/keys/${old.id}/rotate`, { method: "POST", headers: { authorization: "Bearer test-admin-token-0123456789abcdef" } });
    expect(res.status).toBe(201);
    expect(await gatewayStatus(old.key)).toBe(401);
  });

  it("never gives the successor a longer life than the rotating key", async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const caller = await createKey({ org_id: org, scopes: ["keygate:keys:write", "content:read"], expires_at: expires });
    const target = await createKey({ org_id: org, scopes: ["content:read"] });
    const res = await admin("POST", `/keys/${target.id}/rotate`, {}, bearer(caller.key));
    expect(res.status).toBe(201);
    expect((await json<Ok<KeyRecord>>(res)).data.expires_at).toBe(expires);
  });

  it("answers 409 to a PATCH that would extend a rotated key past its grace", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 3600 })).status).toBe(201);
    expect((await admin("PATCH", `/keys/${key.id}`, { expires_at: null })).status).toBe(409);
    expect((await admin("PATCH", `/keys/${key.id}`, { name: "old" })).status).toBe(200);
  });

  it("commits and answers a change even when KV cannot be told", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await gatewayStatus(key.key)).toBe(200);
    const kvDelete = vi.spyOn(env.KEY_CACHE, "delete").mockRejectedValue(new Error("KV unavailable"));
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(200);
    expect(kvDelete).toHaveBeenCalled();
    expect(await gatewayStatus(key.key)).toBe(401);
    vi.restoreAllMocks();
  });

  it("answers 409 for a revoked or already rotated key, and 400 for grace over 7 days or wider scopes", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect((await admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 7 * 86400 + 1 })).status).toBe(400);
    expect((await admin("POST", `/keys/${key.id}/rotate`, { scopes: ["content:read", "media:read"] })).status).toBe(400);
    expect((await admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 30 })).status).toBe(201);
    expect((await admin("POST", `/keys/${key.id}/rotate`, {})).status).toBe(409);
    const revoked = await createKey({ org_id: org, scopes: ["content:read"] });
    await admin("DELETE", `/keys/${revoked.id}`);
    expect((await admin("POST", `/keys/${revoked.id}/rotate`, {})).status).toBe(409);
  });
});

describe("DELETE /_keygate/v1/keys/:id", () => {
  it("revokes: the row stays with revoked_at and the key stops working", async () => {
    const key = await createKey({ org_id: org, scopes: ["content:read"] });
    expect(await gatewayStatus(key.key)).toBe(200);
    const res = await admin("DELETE", `/keys/${key.id}`);
    expect(res.status).toBe(200);
    expect((await json<Ok<KeyRecord>>(res)).data.revoked_at).toMatch(/Z$/);
    expect(await gatewayStatus(key.key)).toBe(401);
    const row = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE id = ?").bind(key.id).first<{ revoked_at: string }>();
    expect(row?.revoked_at).toBeTruthy();
  });
});
