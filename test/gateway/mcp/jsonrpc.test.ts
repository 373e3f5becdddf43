/**
 * One POST body, one JSON-RPC message (SPEC §10): what the gateway reads from it, and the
 * Mcp-Method / Mcp-Name headers that must agree with it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMcpHeaderValue, mcpHeaderMismatch } from "../../../src/gateway/mcp/headers";
import { duplicateKey } from "../../../src/gateway/mcp/json-keys";
import { JSON_RPC_ERRORS, parseMcpMessage } from "../../../src/gateway/mcp/jsonrpc";

const rpc = (message: Record<string, unknown>) => JSON.stringify({ jsonrpc: "2.0", ...message });

describe("parseMcpMessage", () => {
  it("reads the tool, prompt or resource a targeted method names", () => {
    expect(parseMcpMessage(rpc({ id: 1, method: "tools/call", params: { name: "publish_story", arguments: {} } }))).toEqual({
      ok: true,
      message: { id: 1, method: "tools/call", target: { kind: "tools", name: "publish_story" } },
    });
    expect(parseMcpMessage(rpc({ id: "a", method: "prompts/get", params: { name: "draft" } }))).toMatchObject({ message: { target: { kind: "prompts", name: "draft" } } });
    for (const method of ["resources/read", "resources/subscribe", "resources/unsubscribe"]) {
      expect(parseMcpMessage(rpc({ id: 2, method, params: { uri: "stories://1" } }))).toMatchObject({ message: { target: { kind: "resources", name: "stories://1" } } });
    }
  });

  it("reads completion/complete by the prompt or resource template it references", () => {
    const prompt = { id: 3, method: "completion/complete", params: { ref: { type: "ref/prompt", name: "draft" }, argument: { name: "a", value: "" } } };
    expect(parseMcpMessage(rpc(prompt))).toMatchObject({ message: { target: { kind: "prompts", name: "draft" } } });
    const template = { id: 3, method: "completion/complete", params: { ref: { type: "ref/resource", uri: "stories://{id}" } } };
    expect(parseMcpMessage(rpc(template))).toMatchObject({ message: { target: { kind: "resources", name: "stories://{id}" } } });
    expect(parseMcpMessage(rpc({ id: 3, method: "completion/complete", params: { ref: { type: "ref/prompt" } } }))).toEqual({
      ok: false, id: 3, code: JSON_RPC_ERRORS.invalidParams, reason: "params.ref.name must be a non-empty string",
    });
  });

  it("needs nothing named for initialize, ping, lists, notifications and responses", () => {
    expect(parseMcpMessage(rpc({ id: 1, method: "initialize", params: {} }))).toEqual({ ok: true, message: { id: 1, method: "initialize", target: undefined } });
    expect(parseMcpMessage(rpc({ method: "notifications/initialized" }))).toEqual({ ok: true, message: { id: null, method: "notifications/initialized", target: undefined } });
    expect(parseMcpMessage(rpc({ id: 7, result: {} }))).toEqual({ ok: true, message: { id: 7, method: undefined, target: undefined } });
    expect(parseMcpMessage(rpc({ id: 7, error: { code: 1, message: "no" } }))).toMatchObject({ ok: true });
  });

  it("answers -32602 with the request id for a targeted method without params.name or params.uri", () => {
    expect(parseMcpMessage(rpc({ id: 9, method: "tools/call", params: {} }))).toEqual({ ok: false, id: 9, code: -32602, reason: "params.name must be a non-empty string" });
    expect(parseMcpMessage(rpc({ id: 9, method: "tools/call" }))).toEqual({ ok: false, id: 9, code: -32602, reason: "params must be an object" });
    expect(parseMcpMessage(rpc({ id: 9, method: "tools/call", params: { name: 5 } }))).toMatchObject({ code: -32602 });
    expect(parseMcpMessage(rpc({ id: 9, method: "resources/read", params: { uri: "" } }))).toMatchObject({ code: -32602 });
  });

  it("answers -32600 for batches, non-objects, a wrong jsonrpc, a bad id or method, and a bare object", () => {
    expect(parseMcpMessage("[]")).toMatchObject({ ok: false, id: null, code: -32600, reason: expect.stringContaining("batches are not supported") });
    for (const body of ['"x"', "1", "null", rpc({ id: {}, method: "ping" }), rpc({ id: 1, method: 5 }), rpc({ id: 1 }), JSON.stringify({ id: 1, method: "ping" })]) {
      expect(parseMcpMessage(body)).toMatchObject({ ok: false, code: -32600 });
    }
    expect(parseMcpMessage("{")).toEqual({ ok: false, id: null, code: -32700, reason: "the body is not JSON" });
  });

  it("never reads a method from the prototype", () => {
    expect(parseMcpMessage(rpc({ id: 1, method: "constructor", params: {} }))).toEqual({ ok: true, message: { id: 1, method: "constructor", target: undefined } });
  });

  it("refuses every JSON array as a batch and never throws on any text (property)", () => {
    fc.assert(fc.property(fc.array(fc.jsonValue()), (items) => {
      expect(parseMcpMessage(JSON.stringify(items))).toMatchObject({ ok: false, code: -32600 });
    }));
    fc.assert(fc.property(fc.string(), (text) => {
      expect(typeof parseMcpMessage(text).ok).toBe("boolean");
    }));
  });

  it("reads back any tool name of a tools/call (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.oneof(fc.integer(), fc.string()), (name, id) => {
        expect(parseMcpMessage(rpc({ id, method: "tools/call", params: { name } }))).toEqual({ ok: true, message: { id, method: "tools/call", target: { kind: "tools", name } } });
      }),
    );
  });
});

describe("duplicate keys", () => {
  it("refuses a message naming one tool twice, also through escapes, with -32600", () => {
    const twice = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_stories","name":"publish_story"}}';
    expect(parseMcpMessage(twice)).toEqual({ ok: false, id: null, code: -32600, reason: 'the key "name" appears twice in one object' });
    const escaped = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_stories", "na\\u006de" : "publish_story"}}';
    expect(parseMcpMessage(escaped)).toMatchObject({ ok: false, code: -32600 });
    expect(parseMcpMessage('{"jsonrpc":"2.0","method":"ping","method":"tools/call","id":1}')).toMatchObject({ ok: false, code: -32600 });
  });

  it("finds no duplicate in anything JSON.stringify writes, compact or indented (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(duplicateKey(JSON.stringify(value))).toBeUndefined();
        expect(duplicateKey(JSON.stringify(value, null, 2))).toBeUndefined();
      }),
    );
  });

  it("finds a key repeated at any depth, and not keys equal across sibling objects (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (value, key) => {
        const k = JSON.stringify(key);
        expect(duplicateKey(`{"a":[${JSON.stringify(value)},{${k}:1,${k}:2}]}`)).toBe(key);
        expect(duplicateKey(`[{${k}:1},{${k}:${JSON.stringify(value)}}]`)).toBeUndefined();
      }),
    );
  });
});

describe("Mcp-Method and Mcp-Name headers", () => {
  const call = { id: 1, method: "tools/call", target: { kind: "tools" as const, name: "café" } };

  it("decodes =?base64?…?= values as UTF-8 and leaves others as they are", () => {
    expect(decodeMcpHeaderValue("=?base64?Y2Fmw6k=?=")).toBe("café");
    expect(decodeMcpHeaderValue("=?BASE64?Y2Fmw6k=?=")).toBe("café");
    expect(decodeMcpHeaderValue("tools/call")).toBe("tools/call");
    expect(decodeMcpHeaderValue("=?base64?/w==?=")).toBeUndefined();
  });

  it("agree when absent or equal to the body, encoded or not", () => {
    expect(mcpHeaderMismatch(new Headers(), call)).toBeUndefined();
    expect(mcpHeaderMismatch(new Headers({ "mcp-method": "tools/call", "mcp-name": "=?base64?Y2Fmw6k=?=" }), call)).toBeUndefined();
  });

  it("disagree on another method or name, a name for an untargeted message, or two header values", () => {
    expect(mcpHeaderMismatch(new Headers({ "mcp-method": "tools/list" }), call)).toBe("Mcp-Method does not match the body's method");
    expect(mcpHeaderMismatch(new Headers({ "mcp-name": "cafe" }), call)).toContain("Mcp-Name");
    expect(mcpHeaderMismatch(new Headers({ "mcp-name": "x" }), { id: 1, method: "tools/list", target: undefined })).toContain("Mcp-Name");
    const twice = new Headers([["mcp-method", "tools/call"], ["mcp-method", "tools/call"]]);
    expect(mcpHeaderMismatch(twice, call)).toContain("Mcp-Method");
  });
});
