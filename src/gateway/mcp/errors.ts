/**
 * @module
 * Refusals of an MCP message: the gateway's own {@link KeygateError} (so the audit event records
 * code, reason and scopes as for any denial), rendered as the JSON-RPC error MCP clients read
 * (`{ jsonrpc: "2.0", id, error: { code, message, data } }`) instead of `{ ok: false, … }`.
 */
import { type ErrorCode, KeygateError, type KeygateErrorOptions } from "../../errors";
import type { JsonRpcId } from "./jsonrpc";

export interface JsonRpcErrorFields {
  id: JsonRpcId;
  code: number;
  /** The JSON-RPC `error.message`; the Keygate message stays the short audit reason. */
  message: string;
}

export class McpMessageError extends KeygateError {
  readonly rpc: JsonRpcErrorFields;

  constructor(code: ErrorCode, reason: string, rpc: JsonRpcErrorFields, options: KeygateErrorOptions = {}) {
    super(code, reason, options);
    this.rpc = rpc;
  }

  override getResponse(): Response {
    const error = { code: this.rpc.code, message: this.rpc.message, ...(this.details && { data: this.details }) };
    return Response.json({ jsonrpc: "2.0", id: this.rpc.id, error }, { status: this.status, headers: this.headers });
  }
}
