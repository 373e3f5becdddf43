/**
 * Red team, SPEC §10: "tools/list … results, in JSON or in an SSE stream, hold only what the caller
 * may use". The filter must not depend on the origin echoing the request id byte for byte: the
 * client chooses the id, and origins normalize some (Go's encoding/json turns a lone surrogate into
 * U+FFFD), so a list answered under another id is still this request's list.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { BASE, createKey, createOrg, json } from "../helpers/worker";

const MCP = "/api/v1/mcp";
const TOOLS = ["list_stories", "publish_story", "create_webhook", "list_webhooks", "secret_admin_tool"].map((name) => ({ name }));
const WEBHOOK_TOOLS = ["create_webhook", "list_webhooks"];

let webhooksKey: string;
beforeAll(async () => {
  const org = await createOrg("MCP red team org");
  webhooksKey = (await createKey({ org_id: org, preset: "webhooks-only" })).key;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** An origin that answers every message with the full tool list under `id` and `type`. */
function originAnswering(id: unknown, type: string, frame: (body: string) => string = (body) => body): void {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
    new Response(frame(JSON.stringify({ jsonrpc: "2.0", id, result: { tools: TOOLS } })), { headers: { "content-type": type } }),
  );
}

async function listTools(rawBody: string): Promise<Response> {
  const request = new Request(`${BASE}${MCP}`, {
    method: "POST",
    headers: { "x-api-key": webhooksKey, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: rawBody,
  });
  return await worker.fetch(request, { ...env, ORIGIN_URL: "https://origin.test" }, createExecutionContext());
}

describe("a tools/list result is filtered whatever id the origin answers it under", () => {
  const loneSurrogate = String.raw`{"jsonrpc":"2.0","id":"\ud800","method":"tools/list"}`;

  it("filters a JSON result whose id the origin normalized", async () => {
    originAnswering("\ufffd", "application/json");
    const res = await listTools(loneSurrogate);
    expect(res.status).toBe(200);
    const body = await json<{ result: { tools: { name: string }[] } }>(res);
    expect(body.result.tools.map((tool) => tool.name)).toEqual(WEBHOOK_TOOLS);
  });

  it("filters an SSE result whose id the origin normalized", async () => {
    originAnswering("\ufffd", "text/event-stream", (data) => `event: message\ndata: ${data}\n\n`);
    const res = await listTools(loneSurrogate);
    const event = (await res.text()).split("\n").find((line) => line.startsWith("data: "))!;
    const message = JSON.parse(event.slice("data: ".length)) as { result: { tools: { name: string }[] } };
    expect(message.result.tools.map((tool) => tool.name)).toEqual(WEBHOOK_TOOLS);
  });
});
