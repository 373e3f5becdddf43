/**
 * Red team, SPEC §10: each POST body is one JSON-RPC message, checked by the tool it names. Go's
 * encoding/json matches object keys case-insensitively (Unicode simple folding, the last match
 * wins), so a Go origin reads `Name`, `Method` or `paramſ` as `name`, `method` or `params`: a body
 * checked as one call (or as a method-less response) ran as another.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { BASE, createKey, createOrg, json } from "../helpers/worker";

let agentKey: string;
beforeAll(async () => {
  agentKey = (await createKey({ org_id: await createOrg("MCP key case org"), preset: "ai-agent" })).key;
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function post(body: string): Promise<{ res: Response; originCalls: number }> {
  const origin = vi.spyOn(globalThis, "fetch").mockResolvedValue(Response.json({ jsonrpc: "2.0", id: 1, result: {} }));
  const request = new Request(`${BASE}/api/v1/mcp`, {
    method: "POST",
    headers: { "x-api-key": agentKey, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body,
  });
  const res = await worker.fetch(request, { ...env, ORIGIN_URL: "https://origin.test" }, createExecutionContext());
  return { res, originCalls: origin.mock.calls.length };
}

describe("a member the gateway reads is spelled exactly, or the message is refused", () => {
  it.each([
    ["a second tool name spelled Name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_stories","Name":"secret_admin_tool"}}`],
    ["a request dressed as a response by a Method member", `{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","Params":{"Name":"secret_admin_tool"}}`],
    ["params spelled with a long s (U+017F folds to s)", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_stories"},"paramſ":{"name":"secret_admin_tool"}}`],
    ["a completion ref with a second Name", `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"draft_story","NAME":"other"},"argument":{"name":"a","value":"b"}}}`],
  ])("refuses %s with a JSON-RPC -32600 and never calls the origin", async (_case, body) => {
    const { res, originCalls } = await post(body);
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ jsonrpc: "2.0", error: { code: -32600 } });
    expect(originCalls).toBe(0);
  });

  it("passes tool arguments whose keys differ only in case (the gateway does not read them)", async () => {
    const { res, originCalls } = await post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_stories","arguments":{"id":1,"ID":2}}}`);
    expect(res.status).toBe(200);
    expect(originCalls).toBe(1);
  });
});
