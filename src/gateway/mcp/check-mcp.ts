/**
 * @module
 * The per-message check of MCP routes (SPEC §10), one middleware after the route's scope check:
 * each POST body is read (at most {@link MAX_MCP_MESSAGE_BYTES}), parsed as one JSON-RPC message
 * and checked against the route's `mcp` map; the very bytes read are then forwarded. Responses to
 * list requests, JSON or SSE, keep only what the caller may use; every other stream passes
 * through as it comes.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type ErrorCode, KeygateError, type KeygateErrorOptions } from "../../errors";
import { mcpScopeChallenge } from "../../http/challenge";
import type { RoutedEnv } from "../../http/context";
import { principalOf } from "../../caller/caller";
import { missingScopes } from "../../core/scopes";
import { McpMessageError } from "./errors";
import { mcpHeaderMismatch } from "./headers";
import { JSON_RPC_ERRORS, type JsonRpcId, type McpMessage, type McpTarget, parseMcpMessage } from "./jsonrpc";
import { filterListResponse, LIST_SHAPES, type ListFilter, listShapeOf, type MayUse } from "./lists";
import type { McpRules } from "../../policy/mcp-rules";
import { sseRewriter } from "./sse";

/**
 * The largest POST body an MCP route takes. Bodies are read whole to be checked, so this bounds
 * the Worker's memory per request; 4 MiB leaves room for base64 media in tool arguments.
 */
export const MAX_MCP_MESSAGE_BYTES = 4 * 1024 * 1024;
/** The largest JSON list response, or single SSE event, the gateway holds to filter. */
export const MAX_MCP_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Streamable HTTP's methods (HEAD follows GET); anything else could carry an unchecked body. */
const STREAMABLE_HTTP_METHODS = new Set(["POST", "GET", "HEAD", "DELETE"]);
const SSE_TYPE = /^text\/event-stream\s*(?:;|$)/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Every list shape, for streams that may replay any earlier response (`GET`, `Last-Event-ID`). */
const ANY_LIST = Object.values(LIST_SHAPES);

/** Checks each message on routes with an `mcp` map; other routes pass untouched. */
export function checkMcpMessages(): MiddlewareHandler<RoutedEnv> {
  return async function checkMcpMessagesMiddleware(c, next) {
    const rules = c.get("route").route.mcp;
    if (!rules) return next();
    const mayUse = mayUseFor(c, rules);
    const method = c.req.method;
    if (!STREAMABLE_HTTP_METHODS.has(method)) {
      throw messageError("BAD_REQUEST", "invalid_request", null, JSON_RPC_ERRORS.invalidRequest, "an MCP route takes POST, GET and DELETE");
    }
    if (method !== "POST") {
      // Only a POST body is a message; a DELETE's body would reach the origin unchecked.
      if (method === "DELETE") c.req.raw = new Request(c.req.raw, { body: null });
      await next();
      markUntransformable(c.res);
      // A GET stream can resume an earlier POST's stream (Last-Event-ID), replaying a list result.
      c.res = await filteredResponse(c.res, { shapes: ANY_LIST, mayUse }, false);
      return;
    }
    const message = await readMessage(c);
    c.set("mcp", { method: message.method, name: message.target?.name });
    const mismatch = mcpHeaderMismatch(c.req.raw.headers, message);
    if (mismatch) throw messageError("BAD_REQUEST", "invalid_request", message.id, JSON_RPC_ERRORS.headerMismatch, mismatch);
    if (message.target) checkTarget(c, rules, message.id, message.target);
    await next();
    markUntransformable(c.res);
    const shape = listShapeOf(message.method);
    if (shape) c.res = await filteredResponse(c.res, { shapes: [shape], mayUse }, true);
  };
}

async function readMessage(c: Context<RoutedEnv>): Promise<McpMessage> {
  const request = c.req.raw;
  const bytes = await readLimited(request.body, Number(request.headers.get("content-length") ?? 0), MAX_MCP_MESSAGE_BYTES);
  if (!bytes) {
    throw messageError("PAYLOAD_TOO_LARGE", "payload too large", null, JSON_RPC_ERRORS.invalidRequest, `an MCP message is at most ${MAX_MCP_MESSAGE_BYTES} bytes`, {
      details: { maxBytes: MAX_MCP_MESSAGE_BYTES },
    });
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw messageError("BAD_REQUEST", "invalid_request", null, JSON_RPC_ERRORS.parseError, "the body is not UTF-8");
  }
  const parsed = parseMcpMessage(text);
  if (!parsed.ok) throw messageError("BAD_REQUEST", "invalid_request", parsed.id, parsed.code, parsed.reason);
  // The origin gets exactly the bytes that were checked.
  c.req.raw = new Request(request, { body: bytes });
  return parsed.message;
}

function checkTarget(c: Context<RoutedEnv>, rules: McpRules, id: JsonRpcId, target: McpTarget): void {
  const required = rules.requiredFor(target.kind, target.name);
  if (!required) {
    // No consent or key could lift this one, so there is no challenge to answer.
    throw messageError("FORBIDDEN", "mcp_name_not_allowed", id, JSON_RPC_ERRORS.forbidden, `no policy entry allows ${target.kind} "${target.name}"`, {
      details: { requiredScopes: [], missingScopes: [] },
    });
  }
  const missing = missingOf(c, required);
  if (missing.length > 0) {
    throw messageError("FORBIDDEN", "insufficient_scope", id, JSON_RPC_ERRORS.forbidden, `${target.kind} "${target.name}" needs ${missing.join(" ")}`, {
      details: { requiredScopes: required, missingScopes: missing },
      headers: mcpScopeChallenge(c, missing),
    });
  }
}

/** The required scopes the caller lacks; sessions and ADMIN_TOKEN skip scope checks (SPEC §1). */
function missingOf(c: Context<RoutedEnv>, required: readonly string[]): string[] {
  const principal = principalOf(c.get("caller"));
  return principal ? missingScopes(principal.grants, required) : [];
}

function mayUseFor(c: Context<RoutedEnv>, rules: McpRules): MayUse {
  return (kind, name) => {
    const required = rules.requiredFor(kind, name);
    return required !== undefined && missingOf(c, required).length === 0;
  };
}

/**
 * The origin's response with list results filtered: with `listAnswer` (a POST of a list request)
 * its one list result, JSON or SSE (the SSE stream passes unexamined after it); otherwise (GET
 * streams, which may replay any response) every list result of an SSE stream. SSE is never
 * buffered.
 */
async function filteredResponse(response: Response, filter: ListFilter, listAnswer: boolean): Promise<Response> {
  const type = response.headers.get("content-type") ?? "";
  if (!response.body || !response.ok) return response;
  let body: BodyInit;
  if (SSE_TYPE.test(type)) {
    body = response.body.pipeThrough(sseRewriter({ rewrite: (message) => filterListResponse(message, filter), once: listAnswer, maxEventBytes: MAX_MCP_RESPONSE_BYTES }));
  } else if (listAnswer) {
    // Whatever its declared type: a lenient client might still read a list from it.
    body = await filteredJson(response.body, filter);
  } else {
    return response;
  }
  // Changed in place: Hono copies the replaced response's headers onto the new one.
  response.headers.delete("content-length");
  return new Response(body, response);
}

async function filteredJson(body: ReadableStream<Uint8Array>, filter: ListFilter): Promise<BodyInit> {
  const bytes = await readLimited(body, 0, MAX_MCP_RESPONSE_BYTES);
  // Fail closed: a list that cannot be checked is not shown.
  if (!bytes) throw new KeygateError("BAD_GATEWAY", "origin response too large to filter");
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return bytes;
  }
  const filtered = filterListResponse(message, filter);
  return filtered === undefined ? bytes : JSON.stringify(filtered);
}

/** Adds `no-transform` to an SSE response's Cache-Control: Cloudflare then neither compresses nor buffers it. */
function markUntransformable(response: Response): void {
  if (!SSE_TYPE.test(response.headers.get("content-type") ?? "")) return;
  const cacheControl = response.headers.get("cache-control");
  if (!cacheControl) response.headers.set("cache-control", "no-transform");
  else if (!/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(cacheControl)) response.headers.set("cache-control", `${cacheControl}, no-transform`);
}

/**
 * The whole body, or `undefined` when it is longer than `max` (refused by its Content-Length before
 * anything is read, else as soon as the count passes `max`).
 */
async function readLimited(body: ReadableStream<Uint8Array> | null, declaredLength: number, max: number): Promise<Uint8Array | undefined> {
  if (declaredLength > max) return undefined;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function messageError(
  code: ErrorCode,
  reason: string,
  id: JsonRpcId,
  rpcCode: number,
  rpcMessage: string,
  options: KeygateErrorOptions = {},
): McpMessageError {
  return new McpMessageError(code, reason, { id, code: rpcCode, message: rpcMessage }, options);
}
