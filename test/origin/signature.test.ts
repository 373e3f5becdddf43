import { describe, expect, it } from "vitest";
import type { KeygateIdentity } from "../../src/origin/identity";
import {
  SIGNATURE_HEADER,
  signKeygateRequest,
  signatureBase,
  TIMESTAMP_HEADER,
  verifyKeygateSignature,
} from "../../src/origin/signature";
import { identity, identityHeaders, NOW, PATH, SECRET } from "./fixtures";


async function signedRequest(
  options: { secret?: string; timestamp?: number; method?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<Request> {
  const { secret = SECRET, timestamp = NOW, method = "GET", path = PATH } = options;
  const signature = await signKeygateRequest(secret, { timestamp, method, pathAndQuery: path, identity });
  return new Request(`https://origin.test${path}`, {
    method,
    headers: { ...identityHeaders, ...signature, ...options.headers },
  });
}

interface Changes {
  url?: string;
  method?: string;
  headers?: Record<string, string>;
}

function withChanges(request: Request, changes: Changes): Request {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(changes.headers ?? {})) headers.set(name, value);
  return new Request(changes.url ?? request.url, { method: changes.method ?? request.method, headers });
}

describe("signatureBase", () => {
  it("joins v1, timestamp, METHOD, path?query and the identity fields with newlines, missing ones empty", () => {
    expect(signatureBase({ timestamp: NOW, method: "get", pathAndQuery: PATH, identity })).toBe(
      "v1\n1700000000\nGET\n/api/v1/site/pages?productId=p1\napi_key\nkey_123\norg_1\nprj_1\ncontent:read stories:read\n",
    );
  });
});

describe("signKeygateRequest", () => {
  it("produces the HMAC-SHA256 hex of the base, pinned by a vector from Node's createHmac", async () => {
    const headers = await signKeygateRequest(SECRET, { timestamp: NOW, method: "GET", pathAndQuery: PATH, identity });
    // node -e 'require("crypto").createHmac("sha256", "keygate-test-secret").update(base).digest("hex")'
    expect(headers).toEqual({
      [TIMESTAMP_HEADER]: "1700000000",
      [SIGNATURE_HEADER]: "v1=64293e7bd3abce7759c44fdef89ef8631f2de6bbb0a7541a608df62b36be1be3",
    });
  });

  it("matches an HMAC computed directly with crypto.subtle over the literal base string", async () => {
    const encoder = new TextEncoder();
    const key = await crypto.subtle.importKey("raw", encoder.encode("other"), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const base = "v1\n42\nPOST\n/x\nsession\n\norg_1\n\n\nusr_1";
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(base)));
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");

    const headers = await signKeygateRequest("other", {
      timestamp: 42,
      method: "POST",
      pathAndQuery: "/x",
      identity: { caller: "session", orgId: "org_1", scopes: [], userId: "usr_1" },
    });
    expect(headers[SIGNATURE_HEADER]).toBe(`v1=${hex}`);
  });
});

describe("verifyKeygateSignature", () => {
  it("accepts a signed request and returns the identity from its headers", async () => {
    const request = await signedRequest();
    const result = await verifyKeygateSignature(request, SECRET, { now: NOW });
    expect(result).toEqual({ ok: true, identity, version: "v1", request });
  });

  it("accepts a request signed with the second secret of a rotation pair", async () => {
    const request = await signedRequest({ secret: "old-secret" });
    expect(await verifyKeygateSignature(request, ["new-secret", "old-secret"], { now: NOW })).toMatchObject({ ok: true });
    expect(await verifyKeygateSignature(request, ["new-secret"], { now: NOW })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it.each([
    ["scopes", { headers: { "x-keygate-scopes": "content:read stories:read stories:publish" } }],
    ["key id", { headers: { "x-keygate-key-id": "key_999" } }],
    ["org id", { headers: { "x-keygate-org-id": "org_2" } }],
    ["caller", { headers: { "x-keygate-caller": "admin" } }],
    ["path", { url: "https://origin.test/api/v1/site/other?productId=p1" }],
    ["query", { url: "https://origin.test/api/v1/site/pages?productId=p2" }],
    ["method", { method: "DELETE" }],
    ["timestamp", { headers: { [TIMESTAMP_HEADER]: String(NOW + 1) } }],
  ])("rejects a request whose %s was changed", async (_, changes) => {
    const request = withChanges(await signedRequest(), changes);
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("rejects an added identity header that was not signed", async () => {
    const request = withChanges(await signedRequest(), { headers: { "x-keygate-user-id": "usr_evil" } });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("rejects a timestamp older than the tolerance", async () => {
    const request = await signedRequest({ timestamp: NOW - 301 });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "stale" });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW, toleranceSeconds: 301 })).toMatchObject({ ok: true });
  });

  it("rejects a timestamp further in the future than the tolerance", async () => {
    const request = await signedRequest({ timestamp: NOW + 61 });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW, toleranceSeconds: 60 })).toEqual({
      ok: false,
      reason: "stale",
    });
  });

  it("uses the clock when no time is given", async () => {
    const request = await signedRequest({ timestamp: Math.floor(Date.now() / 1000) });
    expect(await verifyKeygateSignature(request, SECRET)).toMatchObject({ ok: true });
  });

  it("reports missing when either signature header is absent", async () => {
    const unsigned = new Request(`https://origin.test${PATH}`, { headers: identityHeaders });
    expect(await verifyKeygateSignature(unsigned, SECRET, { now: NOW })).toEqual({ ok: false, reason: "missing" });
    const request = await signedRequest();
    const headers = new Headers(request.headers);
    headers.delete(TIMESTAMP_HEADER);
    const noTimestamp = new Request(request.url, { headers });
    expect(await verifyKeygateSignature(noTimestamp, SECRET, { now: NOW })).toEqual({ ok: false, reason: "missing" });
  });

  it.each([["v2=abc"], [`v1=${"0".repeat(63)}`], [`v1=${"g".repeat(64)}`], ["0".repeat(64)]])(
    "rejects a malformed signature %s",
    async (signature) => {
      const request = withChanges(await signedRequest(), { headers: { [SIGNATURE_HEADER]: signature } });
      expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
    },
  );

  it("rejects a validly signed request whose caller is not a known caller", async () => {
    const timestamp = NOW;
    const signature = await signKeygateRequest(SECRET, {
      timestamp,
      method: "GET",
      pathAndQuery: "/x",
      identity: { caller: "robot" as KeygateIdentity["caller"], scopes: [] },
    });
    const request = new Request("https://origin.test/x", { headers: { "x-keygate-caller": "robot", ...signature } });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("parses absent identity headers as absent fields and no scopes", async () => {
    const oauth: KeygateIdentity = { caller: "oauth", userId: "usr_1", scopes: [], requestId: "req_2" };
    const input = { timestamp: NOW, method: "POST", pathAndQuery: "/x", identity: oauth };
    const signature = await signKeygateRequest(SECRET, input);
    const request = new Request("https://origin.test/x", {
      method: "POST",
      headers: { "x-keygate-caller": "oauth", "x-keygate-user-id": "usr_1", "x-keygate-request-id": "req_2", ...signature },
    });
    const result = await verifyKeygateSignature(request, SECRET, { now: NOW });
    expect(result).toEqual({ ok: true, identity: oauth, version: "v1", request });
  });

  it("returns no caller for an anonymous request on a public route", async () => {
    const anonymous: KeygateIdentity = { scopes: [], requestId: "req_3" };
    const input = { timestamp: NOW, method: "GET", pathAndQuery: "/public/a", identity: anonymous };
    const signature = await signKeygateRequest(SECRET, input);
    const headers = { "x-keygate-request-id": "req_3", ...signature };
    const request = new Request("https://origin.test/public/a", { headers });
    const result = await verifyKeygateSignature(request, SECRET, { now: NOW });
    expect(result).toEqual({ ok: true, identity: anonymous, version: "v1", request });
    expect(result.ok && result.identity.caller).toBeUndefined();
  });

  it("refuses to verify without a secret", async () => {
    await expect(verifyKeygateSignature(await signedRequest(), [""])).rejects.toThrow(TypeError);
    await expect(verifyKeygateSignature(await signedRequest(), [])).rejects.toThrow(TypeError);
  });
});
