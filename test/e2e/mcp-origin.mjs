// A seed-002-like MCP server for end-to-end tests: the official SDK's McpServer behind its
// StreamableHTTPServerTransport on a loopback node:http server, stateless (a server and transport
// per request, as the SDK documents). `?mode=sse` answers POSTs with SSE streams, otherwise JSON
// (enableJsonResponse). Records every tool call it actually runs. Plain JS: the repo's typecheck
// has no Node types.
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

export const ORIGIN_TOOLS = ["list_stories", "publish_story", "create_webhook", "list_webhooks", "delete_media", "secret_admin_tool"];

function mcpServer(calls) {
  const server = new McpServer({ name: "seed-002", version: "1.0.0" });
  for (const name of ORIGIN_TOOLS) {
    server.registerTool(name, { description: `The ${name} tool`, inputSchema: { text: z.string().optional() } }, async () => {
      calls.push(name);
      return { content: [{ type: "text", text: `${name} ran` }] };
    });
  }
  return server;
}

/** Starts the origin on 127.0.0.1; returns { url, calls, close }. */
export async function startMcpOrigin() {
  const calls = [];
  const http = createServer(async (req, res) => {
    const sse = new URL(req.url, "http://origin").searchParams.get("mode") === "sse";
    const server = mcpServer(calls);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !sse });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address();
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}
