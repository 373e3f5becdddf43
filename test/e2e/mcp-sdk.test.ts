/**
 * SPEC §10 end to end with the official MCP SDK: its Client (StreamableHTTPClientTransport, an API
 * key in requestInit.headers, as pasted into Claude Desktop) talks to the real bundled Worker
 * (Miniflare), which fronts the SDK's McpServer on a loopback origin, in JSON and in SSE replies.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../helpers/local-worker.mjs";
import { startMcpOrigin } from "./mcp-origin.mjs";

interface LocalWorker {
  url: string;
  adminToken: string;
  dispose: () => Promise<void>;
}
interface McpOrigin {
  url: string;
  calls: string[];
  close: () => Promise<void>;
}

const MCP_PATH = "/api/v1/mcp";
let origin: McpOrigin;
let worker: LocalWorker;
let webhooksKey: string;
let agentKey: string;

async function admin(path: string, body: unknown): Promise<{ data: Record<string, string> }> {
  const res = await fetch(`${worker.url}/_keygate/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { data: Record<string, string> };
}

beforeAll(async () => {
  origin = (await startMcpOrigin()) as McpOrigin;
  worker = (await startLocalWorker({ bindings: { ORIGIN_URL: origin.url } })) as LocalWorker;
  const org = (await admin("/orgs", { name: "MCP e2e" })).data.id;
  webhooksKey = (await admin("/keys", { org_id: org, name: "webhooks agent", preset: "webhooks-only" })).data.key!;
  agentKey = (await admin("/keys", { org_id: org, name: "full agent", preset: "ai-agent" })).data.key!;
});

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

async function connect(key: string, mode: "json" | "sse", header: "x-api-key" | "authorization"): Promise<Client> {
  const url = new URL(`${worker.url}${MCP_PATH}${mode === "sse" ? "?mode=sse" : ""}`);
  const headers: Record<string, string> = header === "x-api-key" ? { "x-api-key": key } : { authorization: `Bearer ${key}` };
  const client = new Client({ name: "keygate-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return client;
}

for (const mode of ["json", "sse"] as const) {
  describe(`the MCP SDK through Keygate (${mode} replies)`, () => {
    it("lists only the tools the key may use", async () => {
      const client = await connect(webhooksKey, mode, "x-api-key");
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(["create_webhook", "list_webhooks"]);
      await client.close();
    });

    it("runs an allowed tool, and the SDK sees a denied or unknown tool refused before the origin", async () => {
      const client = await connect(webhooksKey, mode, "authorization");
      const before = origin.calls.length;
      const result = await client.callTool({ name: "create_webhook", arguments: {} });
      expect(result.content).toEqual([{ type: "text", text: "create_webhook ran" }]);
      const denied = client.callTool({ name: "publish_story", arguments: {} });
      await expect(denied).rejects.toMatchObject({ code: 403, message: expect.stringMatching(/"code":-31403.*"missingScopes":\["stories:publish"\]/) });
      const unknown = client.callTool({ name: "secret_admin_tool", arguments: {} });
      await expect(unknown).rejects.toMatchObject({ code: 403, message: expect.stringContaining('no policy entry allows tools \\"secret_admin_tool\\"') });
      expect(origin.calls.slice(before)).toEqual(["create_webhook"]);
      await client.close();
    });
  });
}

describe("the AI agent (full) preset", () => {
  it("sees every seed tool the policy maps, never an unmapped one", async () => {
    const client = await connect(agentKey, "sse", "authorization");
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["create_webhook", "delete_media", "list_stories", "list_webhooks", "publish_story"]);
    const result = await client.callTool({ name: "publish_story", arguments: { text: "hello" } });
    expect(result.content).toEqual([{ type: "text", text: "publish_story ran" }]);
    await client.close();
  });
});
