/**
 * SPEC §10 through the Worker: the demo policy's MCP route (`/api/v1/mcp`, seed 002's tools) with
 * real D1/KV/Queue and a fake origin behind ORIGIN_URL.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { createOrgAs, DASHBOARD_ORIGIN, signUp } from "../../helpers/auth";
import { authorizeCode, authorizeDevice, exchangeCode, registerClient, type TokenResponse } from "../../helpers/oauth";
import { BASE, createKey, createOrg, json } from "../../helpers/worker";

const MCP = "/api/v1/mcp";
const METADATA_URL = `${BASE}/.well-known/oauth-protected-resource${MCP}`;
const ORIGIN = "https://origin.test";

let org: string;
let agentKey: string;
let webhooksKey: string;
beforeAll(async () => {
  org = await createOrg("MCP org");
  agentKey = (await createKey({ org_id: org, preset: "ai-agent" })).key;
  webhooksKey = (await createKey({ org_id: org, preset: "webhooks-only" })).key;
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface OriginCall {
  request: Request;
  body: string;
}

/** Replaces the origin; records what it received. */
function fakeOrigin(respond: (request: Request, body: string) => Response = () => new Response(null, { status: 202 })): OriginCall[] {
  const calls: OriginCall[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const body = await request.text();
    calls.push({ request, body });
    return respond(request, body);
  });
  return calls;
}

async function send(init: RequestInit & { headers?: Record<string, string> }, path = MCP): Promise<Response> {
  return await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ORIGIN_URL: ORIGIN }, createExecutionContext());
}

function post(message: unknown, headers: Record<string, string> = { "x-api-key": agentKey }): Promise<Response> {
  const body = typeof message === "string" ? message : JSON.stringify(message);
  return send({ method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body });
}

const call = (id: number | string, name: string | undefined) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { ...(name !== undefined && { name }), arguments: {} } });

async function auditRow(requestId: string | null): Promise<Record<string, unknown>> {
  let row: Record<string, unknown> | null = null;
  await vi.waitFor(
    async () => {
      row = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(requestId).first();
      expect(row).not.toBeNull();
    },
    { timeout: 5_000, interval: 50 },
  );
  return row!;
}

const TOOLS = ["list_stories", "publish_story", "create_webhook", "list_webhooks", "secret_admin_tool", "delete_media"].map((name) => ({ name, inputSchema: { type: "object" } }));
const listResult = (id: number) => ({ jsonrpc: "2.0", id, result: { tools: TOOLS } });

describe("POST to an MCP route: one message, checked per tool", () => {
  it("forwards an allowed tools/call with the very bytes sent, and audits method and tool", async () => {
    const calls = fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 1, result: { content: [] } }));
    const body = `{"jsonrpc":"2.0", "id":1,"method":"tools/call","params":{"name":"publish_story","arguments":{"text":"café ☕"}}}`;
    const res = await post(body, { "x-api-key": agentKey, "mcp-method": "tools/call", "mcp-name": "publish_story" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: 1, result: { content: [] } });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toBe(body);
    expect(calls[0]!.request.headers.get("mcp-name")).toBe("publish_story");
    expect(calls[0]!.request.headers.get("x-api-key")).toBeNull();
    const row = await auditRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({ outcome: "allowed", mcp_method: "tools/call", mcp_name: "publish_story", status: 200 });
  });

  it("keeps the request's Cloudflare properties for the audit event after re-streaming the body", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 1, result: {} }));
    const res = await send({ method: "POST", headers: { "x-api-key": agentKey }, body: JSON.stringify(call(1, "list_stories")), cf: { country: "DE", colo: "FRA" } } as RequestInit & { headers: Record<string, string> });
    expect(res.status).toBe(200);
    expect(await auditRow(res.headers.get("x-request-id"))).toMatchObject({ country: "DE", colo: "FRA", mcp_name: "list_stories" });
  });

  it("accepts the key as Authorization: Bearer kg_… too", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 2, result: {} }));
    const res = await post(call(2, "list_stories"), { authorization: `Bearer ${agentKey}` });
    expect(res.status).toBe(200);
  });

  it("denies a tool the key lacks scopes for: 403, a step-up challenge and a JSON-RPC error with the id", async () => {
    const calls = fakeOrigin();
    const res = await post(call("req-9", "publish_story"), { "x-api-key": webhooksKey });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer error="insufficient_scope", scope="stories:publish", resource_metadata="${METADATA_URL}"`);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: "req-9",
      error: { code: -31403, message: 'tools "publish_story" needs stories:publish', data: { requiredScopes: ["stories:publish"], missingScopes: ["stories:publish"] } },
    });
    expect(calls).toHaveLength(0);
    const row = await auditRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({ outcome: "denied", reason: "insufficient_scope", mcp_method: "tools/call", mcp_name: "publish_story", missing_scopes: '["stories:publish"]' });
  });

  it("denies a tool no policy entry names, without a challenge (default deny), also for the widest key", async () => {
    const calls = fakeOrigin();
    const wide = (await createKey({ org_id: org, scopes: ["*"] })).key;
    const res = await post(call(3, "secret_admin_tool"), { "x-api-key": wide });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(await res.json()).toMatchObject({ id: 3, error: { code: -31403, data: { requiredScopes: [], missingScopes: [] } } });
    expect(calls).toHaveLength(0);
    expect(await auditRow(res.headers.get("x-request-id"))).toMatchObject({ reason: "mcp_name_not_allowed", mcp_name: "secret_admin_tool" });
  });

  it("lets a §3 wildcard grant satisfy a tool's scope", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 4, result: {} }));
    const stories = (await createKey({ org_id: org, scopes: ["stories:*"] })).key;
    expect((await post(call(4, "publish_story"), { "x-api-key": stories })).status).toBe(200);
    expect((await post(call(5, "list_media"), { "x-api-key": stories })).status).toBe(403);
  });

  it("checks resources/read by URI prefix and prompts/get by name", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 6, result: {} }));
    const read = { jsonrpc: "2.0", id: 6, method: "resources/read", params: { uri: "stories://42" } };
    expect((await post(read)).status).toBe(200);
    expect((await post(read, { "x-api-key": webhooksKey })).status).toBe(403);
    expect((await post({ ...read, params: { uri: "file:///etc/passwd" } })).status).toBe(403);
    expect((await post({ jsonrpc: "2.0", id: 7, method: "prompts/get", params: { name: "draft_story" } }, { "x-api-key": webhooksKey })).status).toBe(403);
  });

  it("passes initialize, ping, notifications and responses with only the route's scopes", async () => {
    const calls = fakeOrigin();
    for (const message of [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } },
      { jsonrpc: "2.0", id: 2, method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: "srv-1", result: { content: { type: "text", text: "ok" } } },
    ]) {
      expect((await post(message, { "x-api-key": webhooksKey })).status).toBe(202);
    }
    expect(calls).toHaveLength(4);
  });
});

describe("other callers on an MCP route", () => {
  it("lets a dashboard session use every mapped tool (sessions skip scopes), never an unmapped one", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 1, result: {} }));
    const user = await signUp();
    await createOrgAs(user);
    const headers = { cookie: user.cookie, origin: DASHBOARD_ORIGIN };
    expect((await post(call(1, "publish_story"), headers)).status).toBe(200);
    const denied = await post(call(2, "secret_admin_tool"), headers);
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-expose-headers")).toContain("mcp-session-id");
  });
});

describe("OAuth tokens on an MCP route (RFC 8707)", () => {
  async function codeToken(resource?: string): Promise<string> {
    const user = await signUp("MCP OAuth user");
    const orgId = await createOrgAs(user, "MCP OAuth org");
    const clientId = await registerClient();
    const { code, verifier } = await authorizeCode(user, { client_id: clientId, scope: "webhooks:read", ...(resource && { resource }) }, orgId);
    return (await json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }))).access_token;
  }

  it("takes a token minted for this route, with the per-tool checks", async () => {
    fakeOrigin(() => Response.json({ jsonrpc: "2.0", id: 1, result: {} }));
    const token = await codeToken(`${BASE}${MCP}`);
    expect((await post(call(1, "list_webhooks"), { authorization: `Bearer ${token}` })).status).toBe(200);
    const denied = await post(call(2, "create_webhook"), { authorization: `Bearer ${token}` });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("www-authenticate")).toBe(`Bearer error="insufficient_scope", scope="webhooks:write", resource_metadata="${METADATA_URL}"`);
  });

  it("refuses with 401 and the metadata URL a token minted without a resource or for another one", async () => {
    const calls = fakeOrigin();
    const user = await signUp("Device user");
    const orgId = await createOrgAs(user, "Device org");
    const device = await authorizeDevice(user, orgId, "webhooks:read");
    for (const token of [device.access_token, await codeToken(), await codeToken(`${BASE}/api/v1/other-mcp`)]) {
      const res = await post(call(1, "list_webhooks"), { authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", resource_metadata="${METADATA_URL}"`);
    }
    expect(calls).toHaveLength(0);
  });
});

describe("bad MCP input: a 400 JSON-RPC error, nothing forwarded", () => {
  const cases: [string, string, Record<string, string>, number, unknown][] = [
    ["a non-JSON body", "not json", {}, -32700, null],
    ["a JSON-RPC array (batch)", JSON.stringify([call(1, "list_stories")]), {}, -32600, null],
    ["a tools/call without params.name", JSON.stringify(call(11, undefined)), {}, -32602, 11],
    ["a tools/call naming two tools (duplicate key)", '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"list_stories","name":"publish_story"}}', {}, -32600, null],
    ["an Mcp-Name header that disagrees with the body", JSON.stringify(call(12, "list_stories")), { "mcp-name": "publish_story" }, -32020, 12],
    ["an Mcp-Method header that disagrees with the body", JSON.stringify(call(13, "list_stories")), { "mcp-method": "tools/list" }, -32020, 13],
    ["an encoded Mcp-Name that decodes to another name", JSON.stringify(call(14, "list_stories")), { "mcp-name": `=?base64?${btoa("publish_story")}?=` }, -32020, 14],
  ];
  for (const [what, body, headers, code, id] of cases) {
    it(`answers ${code} for ${what}`, async () => {
      const calls = fakeOrigin();
      const res = await post(body, { "x-api-key": agentKey, ...headers });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id, error: { code } });
      expect(calls).toHaveLength(0);
    });
  }

  it("refuses methods other than POST, GET and DELETE, and never forwards a DELETE's body", async () => {
    const calls = fakeOrigin(() => new Response(null, { status: 204 }));
    for (const method of ["PUT", "PATCH"]) {
      const res = await send({ method, headers: { "x-api-key": agentKey }, body: JSON.stringify(call(1, "secret_admin_tool")) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
    }
    expect(calls).toHaveLength(0);
    const del = await send({ method: "DELETE", headers: { "x-api-key": agentKey }, body: JSON.stringify(call(1, "secret_admin_tool")) });
    expect(del.status).toBe(204);
    expect(calls[0]!.body).toBe("");
  });

  it("refuses a 10 MB body with 413 naming the limit, declared or streamed", async () => {
    const calls = fakeOrigin();
    const big = JSON.stringify({ ...call(1, "upload_media"), params: { name: "upload_media", arguments: { data: "A".repeat(10 * 1024 * 1024) } } });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "an MCP message is at most 4194304 bytes", data: { maxBytes: 4194304 } } });
    const chunk = new TextEncoder().encode("A".repeat(1024 * 1024));
    let sent = 0;
    const streamed = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await send({ method: "POST", headers: { "x-api-key": agentKey, "content-type": "application/json" }, body: streamed });
    expect(res.status).toBe(413);
    expect(calls).toHaveLength(0);
  });
});

describe("list results hold only what the caller may use", () => {
  it("filters a JSON tools/list result", async () => {
    fakeOrigin(() => Response.json(listResult(20), { headers: { "content-length": "9999" } }));
    const res = await post({ jsonrpc: "2.0", id: 20, method: "tools/list" }, { "x-api-key": webhooksKey });
    expect(res.status).toBe(200);
    const body = await json<{ result: { tools: { name: string }[] } }>(res);
    expect(body.result.tools.map((tool) => tool.name)).toEqual(["create_webhook", "list_webhooks"]);
    expect(res.headers.get("content-length")).not.toBe("9999");
  });

  it("filters a list result served under another content type too", async () => {
    fakeOrigin(() => new Response(JSON.stringify(listResult(22)), { headers: { "content-type": "text/plain" } }));
    const res = await post({ jsonrpc: "2.0", id: 22, method: "tools/list" }, { "x-api-key": webhooksKey });
    expect((await json<{ result: { tools: unknown[] } }>(res)).result.tools).toHaveLength(2);
  });

  it("filters the matching response in an SSE reply and streams the other events byte for byte", async () => {
    const notification = 'event: message\nid: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n';
    const response = `event: message\nid: e2\ndata: ${JSON.stringify(listResult(21))}\n\n`;
    fakeOrigin(() => new Response(notification + response, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } }));
    const res = await post({ jsonrpc: "2.0", id: 21, method: "tools/list" }, { "x-api-key": agentKey });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache, no-transform");
    const allowed = TOOLS.filter((tool) => ["list_stories", "publish_story", "create_webhook", "list_webhooks", "delete_media"].includes(tool.name));
    expect(await res.text()).toBe(`${notification}event: message\nid: e2\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 21, result: { tools: allowed } })}\n\n`);
  });

  it("filters list results a GET stream replays (Last-Event-ID resumption)", async () => {
    const calls = fakeOrigin(() => new Response(`id: e2\ndata: ${JSON.stringify(listResult(21))}\n\n`, { headers: { "content-type": "text/event-stream" } }));
    const res = await send({ method: "GET", headers: { "x-api-key": webhooksKey, accept: "text/event-stream", "last-event-id": "e1", "mcp-session-id": "s-1", "mcp-protocol-version": "2025-11-25" } });
    expect(await res.text()).toBe(`id: e2\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 21, result: { tools: TOOLS.filter((t) => t.name.includes("webhook")) } })}\n\n`);
    const headers = calls[0]!.request.headers;
    expect([headers.get("last-event-id"), headers.get("mcp-session-id"), headers.get("mcp-protocol-version")]).toEqual(["e1", "s-1", "2025-11-25"]);
  });

  it("filters prompts, resources and resource templates by their own map", async () => {
    const results: Record<string, unknown> = {
      "prompts/list": { prompts: [{ name: "draft_story" }, { name: "other" }] },
      "resources/list": { resources: [{ uri: "stories://1" }, { uri: "media://1" }, { uri: "file:///x" }] },
      "resources/templates/list": { resourceTemplates: [{ uriTemplate: "stories://{id}" }, { uriTemplate: "secret://{id}" }] },
    };
    fakeOrigin((_request, body) => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      return Response.json({ jsonrpc: "2.0", id, result: results[method] });
    });
    const publishOnly = (await createKey({ org_id: org, preset: "publish-only" })).key;
    const list = async (method: string) => (await json<{ result: unknown }>(await post({ jsonrpc: "2.0", id: 1, method }, { "x-api-key": publishOnly }))).result;
    expect(await list("prompts/list")).toEqual({ prompts: [] });
    expect(await list("resources/list")).toEqual({ resources: [{ uri: "stories://1" }, { uri: "media://1" }] });
    expect(await list("resources/templates/list")).toEqual({ resourceTemplates: [{ uriTemplate: "stories://{id}" }] });
  });
});

describe("streams and sessions pass through", () => {
  it("passes a tools/call SSE reply through as sent, marked no-transform", async () => {
    const stream = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\nevent: message\ndata: {"jsonrpc":"2.0","id":30,"result":{"content":[]}}\n\n';
    fakeOrigin(() => new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } }));
    const res = await post(call(30, "list_stories"));
    expect(res.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(await res.text()).toBe(stream);
  });

  it("streams a GET and forwards DELETE with the session headers; the session id is no credential", async () => {
    const calls = fakeOrigin((request) => new Response(request.method === "GET" ? ": ping\n\n" : null, { status: request.method === "GET" ? 200 : 204, headers: { "content-type": "text/event-stream", "mcp-session-id": "s-1" } }));
    const get = await send({ method: "GET", headers: { "x-api-key": agentKey, "mcp-session-id": "s-1" } });
    expect(get.headers.get("mcp-session-id")).toBe("s-1");
    expect(get.headers.get("cache-control")).toBe("no-transform");
    expect(await get.text()).toBe(": ping\n\n");
    const del = await send({ method: "DELETE", headers: { "x-api-key": agentKey, "mcp-session-id": "s-1" } });
    expect(del.status).toBe(204);
    expect(calls.map((c) => [c.request.method, c.request.headers.get("mcp-session-id")])).toEqual([["GET", "s-1"], ["DELETE", "s-1"]]);
    const anonymous = await send({ method: "DELETE", headers: { "mcp-session-id": "s-1" } });
    expect(anonymous.status).toBe(401);
    expect(calls).toHaveLength(2);
  });
});

describe("discovery: RFC 9728 metadata and 401 challenges of MCP routes", () => {
  it("publishes the route's metadata at the path-inserted well-known URL", async () => {
    const res = await send({ method: "GET" }, `/.well-known/oauth-protected-resource${MCP}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const metadata = await json<{ scopes_supported: string[] }>(res);
    expect(metadata).toMatchObject({ resource: `${BASE}${MCP}`, authorization_servers: [`${BASE}/_keygate/oauth`], bearer_methods_supported: ["header"] });
    expect(metadata.scopes_supported.sort()).toEqual(
      ["stories:read", "stories:write", "stories:publish", "media:read", "media:write", "webhooks:read", "webhooks:write"].sort(),
    );
  });

  it("answers 404 for a path that is no MCP route", async () => {
    expect((await send({ method: "GET" }, "/.well-known/oauth-protected-resource/api/v1/stories")).status).toBe(404);
    expect((await send({ method: "GET" }, "/.well-known/oauth-protected-resource/nope")).status).toBe(404);
  });

  it("names resource_metadata in every 401 of the route: no credential, a bad token, a bad key", async () => {
    const none = await post(call(1, "list_stories"), {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="keygate", resource_metadata="${METADATA_URL}"`);
    const token = await post(call(1, "list_stories"), { authorization: "Bearer not-a-token" });
    expect(token.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", resource_metadata="${METADATA_URL}"`);
    const key = await post(call(1, "list_stories"), { "x-api-key": "kg_live_bad" });
    expect(key.headers.get("www-authenticate")).toContain(`resource_metadata="${METADATA_URL}"`);
  });

  it("keeps other routes' challenges as they were", async () => {
    const res = await send({ method: "GET" }, "/api/v1/stories");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keygate"');
  });
});
