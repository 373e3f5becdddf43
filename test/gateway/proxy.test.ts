import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Bindings, type Config, getConfig } from "../../src/env";
import { handleError } from "../../src/errors";
import { forwardToOrigin, setIdentityHeaders } from "../../src/gateway/proxy";
import type { KeygateIdentity } from "../../src/origin/identity";
import { verifyKeygateSignature } from "../../src/origin/signature";
import type { Echo } from "../helpers/worker";

const SECRET = "origin-secret-0123456789";

const IDENTITY: KeygateIdentity = {
  caller: "api_key",
  keyId: "key_1",
  orgId: "org_1",
  projectId: "prj_1",
  scopes: ["content:read", "stories:read"],
  requestId: "req_1",
};

function config(overrides: Partial<Config> = {}): Config {
  return { ...getConfig({} as Bindings), originTimeoutMs: 5_000, originDigestMaxBytes: 1024, ...overrides };
}

const HEADER_LOCATORS: ReadonlySet<string> = new Set(["x-project-id", "x_tenant"]);

/** A tiny gateway that forwards everything with a fixed identity. */
function gateway(cfg: Config, identity: KeygateIdentity = IDENTITY) {
  const app = new Hono();
  app.all("*", (c) =>
    forwardToOrigin(c.req.raw, { path: c.req.path, search: new URL(c.req.url).search }, identity, cfg, HEADER_LOCATORS),
  );
  app.onError(handleError);
  return app;
}


async function echoed(init: RequestInit, path = "/api/v1/items?b=2&a=1", cfg: Partial<Config> = {}): Promise<Echo> {
  const res = await gateway(config({ echo: true, ...cfg })).request(path, init);
  expect(res.status).toBe(200);
  return res.json<Echo>();
}

/** Replaces fetch with a fake origin and records what it was called with. */
function fakeOrigin(respond: (request: Request) => Response | Promise<Response> = () => new Response("ok")) {
  const calls: { request: Request; init: RequestInit }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init = {}) => {
    const request = new Request(input, init);
    calls.push({ request, init });
    return respond(request);
  });
  return calls;
}

afterEach(() => {
  vi.restoreAllMocks();
});

function identityHeaders(identity: KeygateIdentity): Record<string, string> {
  const headers = new Headers();
  setIdentityHeaders(headers, identity);
  return Object.fromEntries(headers);
}

describe("setIdentityHeaders", () => {
  it("maps every identity field to its x-keygate header with scopes space separated", () => {
    expect(identityHeaders({ ...IDENTITY, userId: "usr_1" })).toEqual({
      "x-keygate-caller": "api_key",
      "x-keygate-key-id": "key_1",
      "x-keygate-org-id": "org_1",
      "x-keygate-project-id": "prj_1",
      "x-keygate-scopes": "content:read stories:read",
      "x-keygate-user-id": "usr_1",
      "x-keygate-request-id": "req_1",
    });
  });

  it("leaves out empty and missing values", () => {
    expect(identityHeaders({ caller: "session", orgId: "", scopes: [], userId: "usr_1", requestId: "req_2" })).toEqual({
      "x-keygate-caller": "session",
      "x-keygate-user-id": "usr_1",
      "x-keygate-request-id": "req_2",
    });
  });

  it("sends no caller for an anonymous request on a public route", () => {
    expect(identityHeaders({ scopes: [], requestId: "req_3" })).toEqual({ "x-keygate-request-id": "req_3" });
  });
});

describe("forwardToOrigin in echo mode", () => {
  it("answers with the method, path, raw query and exactly the headers it would forward", async () => {
    const body = await echoed({
      method: "DELETE",
      headers: {
        accept: "application/json",
        "x-custom": "kept",
        "x-api-key": "kg_live_secret",
        "x-keygate-org-id": "evil",
        "x-keygate-caller": "admin",
        "x-keygate-signature": "v1=forged",
        cookie: "theme=dark; better-auth.session_token=tok.sig; __Secure-better-auth.session_token=tok2.sig2; lang=en",
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        te: "trailers",
        trailer: "x-t",
        upgrade: "websocket",
        "proxy-authorization": "Basic cHJveHk=",
      },
    });
    expect(body).toEqual({
      echo: true,
      method: "DELETE",
      path: "/api/v1/items",
      query: "b=2&a=1",
      headers: {
        accept: "application/json",
        "x-custom": "kept",
        cookie: "theme=dark; lang=en",
        "x-keygate-caller": "api_key",
        "x-keygate-key-id": "key_1",
        "x-keygate-org-id": "org_1",
        "x-keygate-project-id": "prj_1",
        "x-keygate-scopes": "content:read stories:read",
        "x-keygate-request-id": "req_1",
      },
    });
  });

  it("drops headers the Connection header lists, Cookie and Authorization among them", async () => {
    const { headers } = await echoed({ headers: { connection: "cookie, authorization", cookie: "theme=dark", authorization: "Basic dXNlcjpwdw==" } });
    expect(headers.cookie).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
  });

  it("never forwards a client-sent x-keygate header, even one Keygate does not set", async () => {
    const { headers } = await echoed({ headers: { "x-keygate-user-id": "usr_evil", "x-keygate-whatever": "1" } });
    expect(headers["x-keygate-user-id"]).toBeUndefined();
    expect(headers["x-keygate-whatever"]).toBeUndefined();
  });

  it.each([["x_keygate_user_id"], ["X-Keygate_Org-Id"], ["x_keygate_caller"], ["X_KEYGATE_SCOPES"], ["x-keygate_signature"]])(
    "never forwards %s, which CGI-style origins read as an x-keygate header",
    async (name) => {
      const { headers } = await echoed({ headers: { [name]: "forged" } });
      expect(Object.values(headers)).not.toContain("forged");
    },
  );

  it.each([["x-http-method-override"], ["X-HTTP-Method"], ["x-method-override"], ["x_http_method_override"]])(
    "strips the method-override header %s, since the checks ran on the real method",
    async (name) => {
      const { method, headers } = await echoed({ method: "GET", headers: { [name]: "DELETE" } });
      expect(method).toBe("GET");
      expect(Object.values(headers)).not.toContain("DELETE");
    },
  );

  it("drops a differently spelt twin of a header project locator and keeps the locator itself", async () => {
    const { headers } = await echoed({
      headers: { "x-project-id": "prj_1", x_project_id: "prj_victim", "X_Project-Id": "prj_victim2", "x-tenant": "t_victim", x_tenant: "t_1" },
    });
    expect(headers["x-project-id"]).toBe("prj_1");
    expect(headers.x_tenant).toBe("t_1");
    expect(Object.values(headers).filter((value) => value.includes("victim"))).toEqual([]);
  });

  it.each([["Bearer kg_live_abc"], ["bearer token"], ["BEARER"], ["Basic dXNlcjpwdw==, Bearer token"]])(
    "strips Authorization: %s",
    async (authorization) => {
      const { headers } = await echoed({ headers: { authorization } });
      expect(headers.authorization).toBeUndefined();
    },
  );

  it("keeps an Authorization header of another scheme", async () => {
    const { headers } = await echoed({ headers: { authorization: "Basic dXNlcjpwdw==" } });
    expect(headers.authorization).toBe("Basic dXNlcjpwdw==");
  });

  it("drops the cookie header when only session cookies were sent", async () => {
    const { headers } = await echoed({ headers: { cookie: "better-auth.session_token=tok.sig" } });
    expect(headers.cookie).toBeUndefined();
  });

  it("strips a session cookie named by SESSION_COOKIE", async () => {
    const { strippedCookieNames } = getConfig({ SESSION_COOKIE: "my_session" } as Bindings);
    const { headers } = await echoed({ headers: { cookie: "my_session=x; other=y" } }, "/x", { strippedCookieNames });
    expect(headers.cookie).toBe("other=y");
  });

  it("strips both better-auth session cookie names, also the one this gateway does not accept", async () => {
    const cookie = "a=1; better-auth.session_token=t1.s; __Secure-better-auth.session_token=t2.s; b=2";
    const { headers } = await echoed({ headers: { cookie } });
    expect(headers.cookie).toBe("a=1; b=2");
  });

  it("strips session cookies from a second Cookie header and leaves other cookies untouched", async () => {
    const request = new Request("https://gw.test/x", { headers: [["cookie", "a=1"], ["cookie", "__Secure-better-auth.session_token=t.s; b=2"]] });
    const { headers } = await echoed({ headers: request.headers });
    expect(headers.cookie).toBe("a=1; b=2");
  });

  it("forwards a Cookie header without session cookies exactly as sent", async () => {
    const { headers } = await echoed({ headers: { cookie: "prefs=a,b; theme=dark" } });
    expect(headers.cookie).toBe("prefs=a,b; theme=dark");
  });

  it("adds a timestamp and a signature over the forwarded request that verifies", async () => {
    const echo = await echoed({ method: "POST", body: "{}" }, "/api/v1/items?b=2&a=1", { originSecrets: [SECRET] });
    // Echo shows the request as an origin at echo.invalid would receive it.
    const forwarded = new Request(`http://echo.invalid${echo.path}?${echo.query}`, {
      method: echo.method,
      headers: echo.headers,
      body: "{}",
    });
    expect(await verifyKeygateSignature(forwarded, SECRET)).toMatchObject({ ok: true, identity: IDENTITY, version: "v2" });
  });

  it("adds no signature headers without ORIGIN_SECRET", async () => {
    const { headers } = await echoed({});
    expect(headers["x-keygate-timestamp"]).toBeUndefined();
    expect(headers["x-keygate-signature"]).toBeUndefined();
  });
});

describe("forwardToOrigin without an origin", () => {
  it("answers 502 origin unreachable when ECHO is off", async () => {
    const res = await gateway(config()).request("/api/v1/items");
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ ok: false, code: "BAD_GATEWAY", message: "origin unreachable" });
  });
});

describe("forwardToOrigin with ORIGIN_URL", () => {
  const origin = (overrides: Partial<Config> = {}) =>
    config({ originUrl: new URL("https://api.example.com/base/"), originSecrets: [SECRET], echo: true, ...overrides });

  it("joins ORIGIN_URL's base path with the target path and keeps the query", async () => {
    const calls = fakeOrigin();
    await gateway(origin()).request("/api/v1/items?b=2&a=1");
    expect(calls[0]!.request.url).toBe("https://api.example.com/base/api/v1/items?b=2&a=1");
  });

  it("appends the target path to an ORIGIN_URL without a base path", async () => {
    const calls = fakeOrigin();
    await gateway(origin({ originUrl: new URL("https://api.example.com") })).request("/api/v1/items");
    expect(calls[0]!.request.url).toBe("https://api.example.com/api/v1/items");
  });

  it("keeps a target path starting with // on the origin's host", async () => {
    const calls = fakeOrigin();
    const cfg = origin({ originUrl: new URL("https://api.example.com") });
    await forwardToOrigin(new Request("https://gw.test/x"), { path: "//evil.example/x", search: "" }, IDENTITY, cfg, HEADER_LOCATORS);
    expect(new URL(calls[0]!.request.url).host).toBe("api.example.com");
  });

  it("refuses a target path that would climb out of the base path", async () => {
    const calls = fakeOrigin();
    const target = { path: "/%2e%2e/admin", search: "" };
    const forwarding = forwardToOrigin(new Request("https://gw.test/x"), target, IDENTITY, origin(), HEADER_LOCATORS);
    await expect(forwarding).rejects.toMatchObject({ code: "BAD_REQUEST", status: 400 });
    expect(calls).toHaveLength(0);
  });

  it("sends the method, the stripped headers and a signature over the path the origin receives", async () => {
    const calls = fakeOrigin();
    await gateway(origin({ originSecrets: [SECRET, "old-secret"] })).request("/api/v1/items?a=1", {
      method: "PUT",
      body: "x",
      headers: { authorization: "Bearer kg_live_abc", "x-keygate-org-id": "evil", "x-custom": "kept" },
    });
    const { request } = calls[0]!;
    expect(request.method).toBe("PUT");
    expect(request.headers.get("authorization")).toBeNull();
    expect(request.headers.get("x-keygate-org-id")).toBe("org_1");
    expect(request.headers.get("x-custom")).toBe("kept");
    expect(await verifyKeygateSignature(request.clone(), SECRET)).toMatchObject({ ok: true, identity: IDENTITY, version: "v2" });
    expect(await verifyKeygateSignature(request, "old-secret")).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("sends content-digest and a v2 signature over host, request id and body that the origin verifies", async () => {
    const calls = fakeOrigin();
    await gateway(origin()).request("/api/v1/items", { method: "POST", body: "hello", headers: { "content-digest": "sha-256=:forged:" } });
    const { request } = calls[0]!;
    expect(request.headers.get("content-digest")).toBe("sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");
    expect(request.headers.get("x-keygate-signature")).toMatch(/^v1=[0-9a-f]{64}, v2=[0-9a-f]{64}$/);
    const verified = await verifyKeygateSignature(request, SECRET);
    expect(verified).toMatchObject({ ok: true, version: "v2" });
    expect(verified.ok && (await verified.request.text())).toBe("hello");
  });

  it("signs a GET with the digest of empty input", async () => {
    const calls = fakeOrigin();
    await gateway(origin()).request("/x");
    expect(calls[0]!.request.headers.get("content-digest")).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    expect(await verifyKeygateSignature(calls[0]!.request, SECRET)).toMatchObject({ ok: true, version: "v2" });
  });

  it.each([
    ["a declared Content-Length", (payload: string) => payload],
    ["a chunked stream", (payload: string) => new Blob([payload.slice(0, 700), payload.slice(700)]).stream()],
  ])("streams a body over ORIGIN_DIGEST_MAX_BYTES intact with v1 only (%s)", async (_name, bodyOf) => {
    const calls = fakeOrigin(async (request) => new Response(await request.text()));
    const payload = "y".repeat(1500);
    const res = await gateway(origin()).request("/api/v1/items", { method: "POST", body: bodyOf(payload), duplex: "half" } as RequestInit);
    expect(await res.text()).toBe(payload);
    const { request } = calls[0]!;
    expect(request.headers.get("content-digest")).toBeNull();
    expect(request.headers.get("x-keygate-signature")).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(await verifyKeygateSignature(request, SECRET)).toMatchObject({ ok: true, version: "v1" });
  });

  it("answers 400 without calling the origin when the client's body breaks off while it is read for the digest", async () => {
    const calls = fakeOrigin();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("par"));
        controller.error(new Error("client went away"));
      },
    });
    const res = await gateway(origin()).request("/api/v1/items", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(400);
    expect(calls).toHaveLength(0);
  });

  it("does not follow redirects, bypasses the cache and can be aborted", async () => {
    const calls = fakeOrigin();
    await gateway(origin()).request("/x");
    expect(calls[0]!.init).toMatchObject({ redirect: "manual", cache: "no-store" });
    expect(calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
  });

  it("streams a POST body through intact without ORIGIN_SECRET", async () => {
    const calls = fakeOrigin(async (request) => new Response(await request.text()));
    const payload = JSON.stringify({ text: "héllo", n: Array.from({ length: 1000 }, (_, i) => i) });
    const res = await gateway(origin({ originSecrets: [] })).request("/api/v1/items", { method: "POST", body: payload });
    expect(calls[0]!.init.body).toBeInstanceOf(ReadableStream);
    expect(await res.text()).toBe(payload);
  });

  it("sends no body with GET", async () => {
    const calls = fakeOrigin();
    await gateway(origin()).request("/x");
    expect(calls[0]!.init.body).toBeNull();
  });

  it("returns the origin's status, headers and body, minus hop-by-hop headers", async () => {
    fakeOrigin(() => {
      const headers = new Headers({ "x-origin": "1", "keep-alive": "timeout=5" });
      headers.set("connection", "x-internal");
      headers.set("x-internal", "1");
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      return new Response("created", { status: 201, statusText: "Created", headers });
    });
    const res = await gateway(origin()).request("/x", { method: "POST" });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("created");
    expect(res.headers.get("x-origin")).toBe("1");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(res.headers.get("connection")).toBeNull();
    expect(res.headers.get("keep-alive")).toBeNull();
    expect(res.headers.get("x-internal")).toBeNull();
  });

  it("passes a 302 through unfollowed with its Location", async () => {
    fakeOrigin(() => new Response(null, { status: 302, headers: { location: "https://elsewhere.example/next" } }));
    const res = await gateway(origin()).request("/x");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://elsewhere.example/next");
  });

  it("answers 502 origin unreachable without the cause when the fetch fails", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("connect ECONNREFUSED 10.0.0.7:443 secret-host"));
    const res = await gateway(origin()).request("/x");
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ ok: false, code: "BAD_GATEWAY", message: "origin unreachable" });
    expect(text).not.toContain("10.0.0.7");
  });

  it("answers 504 origin timeout when the origin does not answer in time", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
    );
    const res = await gateway(origin({ originTimeoutMs: 50 })).request("/x");
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ ok: false, code: "GATEWAY_TIMEOUT", message: "origin timeout" });
  });

  it("does not cut a streamed response body that outlasts the timeout", async () => {
    const calls = fakeOrigin(() => {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode("first "));
          await new Promise((resolve) => setTimeout(resolve, 120));
          controller.enqueue(encoder.encode("last"));
          controller.close();
        },
      });
      return new Response(body);
    });
    const res = await gateway(origin({ originTimeoutMs: 50 })).request("/x");
    expect(await res.text()).toBe("first last");
    expect(calls[0]!.init.signal?.aborted).toBe(false);
  });
});
