/**
 * SPEC §6 signature v2: host, request id and the body's content-digest (RFC 9530) are signed too;
 * the helper checks the body while it streams and refuses repeated request ids with a replay store.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { contentDigestOf } from "../../src/origin/content-digest";
import { createMemoryReplayStore, type ReplayStore } from "../../src/origin/replay";
import { Sha256 } from "../../src/origin/sha256-stream";
import {
  ContentDigestMismatchError,
  SIGNATURE_HEADER,
  signatureBaseV2,
  signKeygateRequest,
  verifyKeygateSignature,
} from "../../src/origin/signature";
import { identity, identityHeaders, NOW, PATH, SECRET } from "./fixtures";

const EMPTY_DIGEST = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:";

interface Options {
  method?: string;
  body?: string;
  host?: string;
  requestId?: string;
  timestamp?: number;
}

/** A request as Keygate forwards it with v1 and v2, at `https://<host><PATH>`. */
async function signedRequest({ method = "POST", body = '{"a":1}', host = "origin.test", requestId = "req_1", timestamp = NOW }: Options = {}) {
  const bytes = new TextEncoder().encode(body);
  const contentDigest = await contentDigestOf(bytes);
  const signature = await signKeygateRequest(SECRET, {
    timestamp,
    method,
    pathAndQuery: PATH,
    identity,
    v2: { host, requestId, contentDigest },
  });
  const headers = { ...identityHeaders, "x-keygate-request-id": requestId, "content-digest": contentDigest, ...signature };
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(`https://${host}${PATH}`, { method, headers, body: hasBody ? bytes : undefined });
}

function changed(request: Request, changes: { url?: string; headers?: Record<string, string>; body?: string }): Request {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(changes.headers ?? {})) headers.set(name, value);
  return new Request(changes.url ?? request.url, { method: request.method, headers, body: changes.body ?? request.body, duplex: "half" } as RequestInit);
}

describe("signatureBaseV2", () => {
  it("joins v2, timestamp, METHOD, host, path?query, request id, content-digest and the v1 identity fields", () => {
    const base = signatureBaseV2({
      timestamp: NOW,
      method: "get",
      pathAndQuery: PATH,
      identity,
      v2: { host: "origin.test", requestId: "req_1", contentDigest: EMPTY_DIGEST },
    });
    expect(base).toBe(`v2\n1700000000\nGET\norigin.test\n${PATH}\nreq_1\n${EMPTY_DIGEST}\napi_key\nkey_123\norg_1\nprj_1\ncontent:read stories:read\n`);
  });
});

describe("signKeygateRequest with v2", () => {
  it("sends v2 beside v1 in one header, pinned by a vector from Node's createHmac", async () => {
    const headers = await signKeygateRequest(SECRET, {
      timestamp: NOW,
      method: "GET",
      pathAndQuery: PATH,
      identity,
      v2: { host: "origin.test", requestId: "req_1", contentDigest: EMPTY_DIGEST },
    });
    expect(headers[SIGNATURE_HEADER]).toBe(
      "v1=64293e7bd3abce7759c44fdef89ef8631f2de6bbb0a7541a608df62b36be1be3, v2=a9afc18cdf9094cdfe80f846a7803bbafb62ea0d51e57b5538f19740a85ee4a3",
    );
  });
});

describe("contentDigestOf", () => {
  it("is RFC 9530's sha-256 member; an empty body has the digest of empty input", async () => {
    expect(await contentDigestOf(new Uint8Array())).toBe(EMPTY_DIGEST);
    // RFC 9530 appendix B.1: {"hello": "world"}\n
    expect(await contentDigestOf(new TextEncoder().encode('{"hello": "world"}\n'))).toBe("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
  });
});

describe("Sha256", () => {
  it("matches crypto.subtle for any input, however it is split into chunks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat({ max: 600 }), { maxLength: 5 }), async (data, cuts) => {
        const hash = new Sha256();
        let start = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          hash.update(data.subarray(start, Math.max(start, cut)));
          start = Math.max(start, cut);
        }
        hash.update(data.subarray(start));
        expect(hash.digest()).toEqual(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
      }),
    );
  });
});

describe("verifyKeygateSignature with v2", () => {
  it("accepts a v2 request and hands back a request whose body reads as sent", async () => {
    const result = await verifyKeygateSignature(await signedRequest(), SECRET, { now: NOW });
    expect(result).toMatchObject({ ok: true, version: "v2", identity });
    expect(result.ok && (await result.request.json())).toEqual({ a: 1 });
  });

  it("accepts a bodyless GET whose digest is that of empty input", async () => {
    expect(await verifyKeygateSignature(await signedRequest({ method: "GET", body: "" }), SECRET, { now: NOW })).toMatchObject({ ok: true, version: "v2" });
  });

  it.each([
    ["host", { url: `https://other.test${PATH}` }],
    ["request id", { headers: { "x-keygate-request-id": "req_2" } }],
    ["content-digest", { headers: { "content-digest": EMPTY_DIGEST } }],
    ["project", { headers: { "x-keygate-project-id": "prj_2" } }],
    ["query", { url: "https://origin.test/api/v1/site/pages?productId=p2" }],
  ])("rejects a request whose %s was changed", async (_name, changes) => {
    const request = changed(await signedRequest(), changes);
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("never falls back to a valid v1 when v2 fails (no downgrade by changing what only v2 covers)", async () => {
    const request = changed(await signedRequest(), { url: `https://other.test${PATH}` });
    expect(request.headers.get(SIGNATURE_HEADER)).toMatch(/^v1=[0-9a-f]{64}, v2=/);
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("errors the body stream, not the verification, when the body differs from its signed digest", async () => {
    const result = await verifyKeygateSignature(changed(await signedRequest(), { body: '{"a":2}' }), SECRET, { now: NOW });
    expect(result.ok).toBe(true);
    await expect(result.ok && result.request.text()).rejects.toBeInstanceOf(ContentDigestMismatchError);
  });

  it("never hands a reader the whole of a body that fails its digest", async () => {
    const result = await verifyKeygateSignature(changed(await signedRequest(), { body: "x".repeat(100) }), SECRET, { now: NOW });
    if (!result.ok) throw new Error("expected the signature to verify");
    const reader = result.request.body!.getReader();
    const seen: number[] = [];
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          seen.push(value.length);
        }
      })(),
    ).rejects.toBeInstanceOf(ContentDigestMismatchError);
    expect(seen.reduce((a, b) => a + b, 0)).toBeLessThan(100);
  });

  it("answers digest_mismatch for a bodyless request whose signed digest is not that of empty input", async () => {
    const signed = await signedRequest({ method: "DELETE", body: "gone" });
    const bodyless = new Request(signed.url, { method: "DELETE", headers: signed.headers });
    expect(await verifyKeygateSignature(bodyless, SECRET, { now: NOW })).toEqual({ ok: false, reason: "digest_mismatch" });
  });

  it("refuses a v1-only signature when v2 is required", async () => {
    const signature = await signKeygateRequest(SECRET, { timestamp: NOW, method: "GET", pathAndQuery: PATH, identity });
    const request = new Request(`https://origin.test${PATH}`, { headers: { ...identityHeaders, ...signature } });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW })).toMatchObject({ ok: true, version: "v1" });
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW, requireV2: true })).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("verifyKeygateSignature with a replay store", () => {
  it("accepts a request id once and refuses the same request sent again", async () => {
    const replayStore = createMemoryReplayStore({ now: () => NOW });
    expect(await verifyKeygateSignature(await signedRequest(), SECRET, { now: NOW, replayStore })).toMatchObject({ ok: true });
    expect(await verifyKeygateSignature(await signedRequest(), SECRET, { now: NOW, replayStore })).toEqual({ ok: false, reason: "replayed" });
    expect(await verifyKeygateSignature(await signedRequest({ requestId: "req_2" }), SECRET, { now: NOW, replayStore })).toMatchObject({ ok: true });
  });

  it("claims the id until the signature would be stale anyway, and only for requests that pass every other check", async () => {
    const claim = vi.fn<ReplayStore["claim"]>(() => true);
    await verifyKeygateSignature(changed(await signedRequest(), { headers: { "x-keygate-org-id": "org_2" } }), SECRET, { now: NOW, replayStore: { claim } });
    await verifyKeygateSignature(await signedRequest({ timestamp: NOW - 301 }), SECRET, { now: NOW, replayStore: { claim } });
    expect(claim).not.toHaveBeenCalled();
    await verifyKeygateSignature(await signedRequest(), SECRET, { now: NOW, toleranceSeconds: 60, replayStore: { claim } });
    expect(claim).toHaveBeenCalledWith("req_1", NOW + 60);
  });

  it("refuses v1-only signatures, whose request id is not signed", async () => {
    const signature = await signKeygateRequest(SECRET, { timestamp: NOW, method: "GET", pathAndQuery: PATH, identity });
    const request = new Request(`https://origin.test${PATH}`, { headers: { ...identityHeaders, ...signature } });
    const replayStore = createMemoryReplayStore();
    expect(await verifyKeygateSignature(request, SECRET, { now: NOW, replayStore })).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("createMemoryReplayStore", () => {
  it("forgets an id once it has expired, and holds at most maxEntries", () => {
    let now = 100;
    const store = createMemoryReplayStore({ maxEntries: 2, now: () => now });
    expect(store.claim("a", 110)).toBe(true);
    expect(store.claim("a", 110)).toBe(false);
    now = 111;
    expect(store.claim("a", 120)).toBe(true);
    expect(store.claim("b", 120)).toBe(true);
    expect(store.claim("c", 120)).toBe(true);
    expect(store.claim("a", 120)).toBe(true);
  });
});
