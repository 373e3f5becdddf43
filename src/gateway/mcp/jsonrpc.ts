/**
 * @module
 * One MCP message of a POST body (SPEC §10), parsed into what the gateway checks: its JSON-RPC id,
 * its method and the tool, prompt or resource it names. Batches (JSON arrays) are refused, so each
 * body is exactly one message and one decision.
 */
import { duplicateKey } from "./json-keys";
import type { McpTargetKind } from "../../policy/mcp-rules";

export type JsonRpcId = string | number | null;

/** The tool, prompt or resource a message acts on. */
export interface McpTarget {
  kind: McpTargetKind;
  name: string;
}

export interface McpMessage {
  /** `null` for notifications and for responses the client sends back. */
  id: JsonRpcId;
  /** `undefined` for a response (to a server request such as `sampling/createMessage`). */
  method: string | undefined;
  target: McpTarget | undefined;
}

/** JSON-RPC 2.0 and MCP error codes the gateway answers with. */
export const JSON_RPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  /** MCP's "header mismatch": `Mcp-Method`/`Mcp-Name` disagree with the body. */
  headerMismatch: -32020,
  /** MCP's "forbidden": the caller may not use what the message names. */
  forbidden: -31403,
} as const;

export type McpMessageParse =
  | { ok: true; message: McpMessage }
  | { ok: false; id: JsonRpcId; code: number; reason: string };

type Params = Record<string, unknown>;
type TargetOf = (params: Params) => McpTarget | string;

/** Methods that act on one named thing, and how to read its name (or why the params are bad). */
const TARGETED_METHODS: Record<string, TargetOf> = {
  "tools/call": named("tools", "name"),
  "prompts/get": named("prompts", "name"),
  "resources/read": named("resources", "uri"),
  "resources/subscribe": named("resources", "uri"),
  "resources/unsubscribe": named("resources", "uri"),
  "completion/complete": completionTarget,
};

/**
 * Parses one POST body.
 * @param text - the body, decoded as UTF-8
 * @example
 * parseMcpMessage('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"publish"}}');
 * // { ok: true, message: { id: 1, method: "tools/call", target: { kind: "tools", name: "publish" } } }
 */
export function parseMcpMessage(text: string): McpMessageParse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid(null, JSON_RPC_ERRORS.parseError, "the body is not JSON");
  }
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) return invalid(null, JSON_RPC_ERRORS.invalidRequest, `the key "${duplicate.slice(0, 64)}" appears twice in one object`);
  if (Array.isArray(body)) return invalid(null, JSON_RPC_ERRORS.invalidRequest, "JSON-RPC batches are not supported: send one message per request");
  if (!isObject(body)) return invalid(null, JSON_RPC_ERRORS.invalidRequest, "a JSON-RPC message is an object");
  const id = isId(body.id) ? body.id : null;
  const misspelled = misspelledMember(body);
  if (misspelled !== undefined) return invalid(id, JSON_RPC_ERRORS.invalidRequest, `the key "${misspelled.slice(0, 64)}" differs from a JSON-RPC or MCP member only in case`);
  if (body.jsonrpc !== "2.0") return invalid(id, JSON_RPC_ERRORS.invalidRequest, 'jsonrpc must be "2.0"');
  if (body.id !== undefined && !isId(body.id)) return invalid(null, JSON_RPC_ERRORS.invalidRequest, "id must be a string or a number");
  if (body.method === undefined) {
    if (id === null || !("result" in body || "error" in body)) return invalid(id, JSON_RPC_ERRORS.invalidRequest, "a message without a method is a response: id and result or error");
    return { ok: true, message: { id, method: undefined, target: undefined } };
  }
  if (typeof body.method !== "string") return invalid(id, JSON_RPC_ERRORS.invalidRequest, "method must be a string");
  const targetOf = Object.hasOwn(TARGETED_METHODS, body.method) ? TARGETED_METHODS[body.method] : undefined;
  if (!targetOf) return { ok: true, message: { id, method: body.method, target: undefined } };
  const target = isObject(body.params) ? targetOf(body.params) : "params must be an object";
  if (typeof target === "string") return invalid(id, JSON_RPC_ERRORS.invalidParams, target);
  return { ok: true, message: { id, method: body.method, target } };
}

/**
 * The members the gateway reads, per object: the message, its params and a completion's ref.
 * Go's encoding/json matches keys case-insensitively (Unicode simple folding; the last match
 * wins), so a Go origin would read `Name` or `paramſ` as `name` or `params`: a message with such a
 * key could be checked as one call and run as another.
 */
const MESSAGE_MEMBERS = ["jsonrpc", "id", "method", "params", "result", "error"];
const PARAMS_MEMBERS = ["name", "uri", "ref"];
const REF_MEMBERS = ["type", "name", "uri"];

/** The first key of the message, its params or their ref that folds to a member it does not spell exactly. */
function misspelledMember(body: Record<string, unknown>): string | undefined {
  const params = isObject(body.params) ? body.params : undefined;
  const ref = params && isObject(params.ref) ? params.ref : undefined;
  return misspelledIn(body, MESSAGE_MEMBERS) ?? (params && misspelledIn(params, PARAMS_MEMBERS)) ?? (ref && misspelledIn(ref, REF_MEMBERS));
}

function misspelledIn(object: Record<string, unknown>, members: readonly string[]): string | undefined {
  // Upper then lower case folds what Go's simple folding does for these names (ſ to s, K to k).
  return Object.keys(object).find((key) => !members.includes(key) && members.includes(key.toUpperCase().toLowerCase()));
}

function named(kind: McpTargetKind, field: "name" | "uri"): TargetOf {
  return (params) => {
    const name = params[field];
    return typeof name === "string" && name !== "" ? { kind, name } : `params.${field} must be a non-empty string`;
  };
}

/** `completion/complete` completes an argument of the prompt or resource template it references. */
function completionTarget(params: Params): McpTarget | string {
  const ref = params.ref;
  if (!isObject(ref)) return "params.ref must be an object";
  const read = ref.type === "ref/prompt" ? named("prompts", "name") : ref.type === "ref/resource" ? named("resources", "uri") : undefined;
  if (!read) return 'params.ref.type must be "ref/prompt" or "ref/resource"';
  const target = read(ref);
  return typeof target === "string" ? target.replace("params.", "params.ref.") : target;
}

function invalid(id: JsonRpcId, code: number, reason: string): McpMessageParse {
  return { ok: false, id, code, reason };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string | number {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}
