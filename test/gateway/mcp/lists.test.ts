/**
 * List results hold only what the caller may use (SPEC §10): the filter behind tools/list,
 * prompts/list, resources/list and resources/templates/list.
 */
import { describe, expect, it } from "vitest";
import { filterListResponse, LIST_SHAPES } from "../../../src/gateway/mcp/lists";

const allowed = new Set(["ok", "stories://1"]);
const mayUse = (_kind: string, name: string) => allowed.has(name);
const tools = { shapes: [LIST_SHAPES["tools/list"]], mayUse };

describe("filterListResponse", () => {
  it("keeps the allowed entries and every other field of the message and result", () => {
    const message = { jsonrpc: "2.0", id: 1, result: { tools: [{ name: "ok" }, { name: "no" }], nextCursor: "c2" } };
    expect(filterListResponse(message, tools)).toEqual({ jsonrpc: "2.0", id: 1, result: { tools: [{ name: "ok" }], nextCursor: "c2" } });
  });

  it("drops entries it cannot name: not an object, or no string name", () => {
    const message = { jsonrpc: "2.0", id: 1, result: { tools: [{ name: "ok" }, "ok", { name: ["ok"] }, null, { title: "ok" }] } };
    expect(filterListResponse(message, tools)).toEqual({ jsonrpc: "2.0", id: 1, result: { tools: [{ name: "ok" }] } });
  });

  it("leaves alone what it need not change: an error, no list, nothing removed", () => {
    expect(filterListResponse({ jsonrpc: "2.0", id: 1, error: { code: 1, message: "x" } }, tools)).toBeUndefined();
    expect(filterListResponse({ jsonrpc: "2.0", id: 1, result: { content: [] } }, tools)).toBeUndefined();
    expect(filterListResponse({ jsonrpc: "2.0", id: 1, result: { tools: [{ name: "ok" }] } }, tools)).toBeUndefined();
  });

  it("filters whatever id the response carries (the client chooses ids; origins may normalize them)", () => {
    expect(filterListResponse({ jsonrpc: "2.0", id: "\ufffd", result: { tools: [{ name: "no" }] } }, tools)).toEqual({ jsonrpc: "2.0", id: "\ufffd", result: { tools: [] } });
  });

  it("filters any list shape in any response (replayed streams)", () => {
    const any = { shapes: Object.values(LIST_SHAPES), mayUse };
    expect(filterListResponse({ jsonrpc: "2.0", id: 9, result: { resources: [{ uri: "stories://1" }, { uri: "x://2" }] } }, any)).toEqual({
      jsonrpc: "2.0",
      id: 9,
      result: { resources: [{ uri: "stories://1" }] },
    });
  });
});
