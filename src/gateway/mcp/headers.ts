/**
 * @module
 * The `Mcp-Method` and `Mcp-Name` request headers, which let infrastructure route on a message
 * without reading its body. Whenever present they must agree with the body (SPEC §10): otherwise
 * a router trusting the header and the gateway trusting the body could see two different calls.
 */
import type { McpMessage } from "./jsonrpc";

/** `=?base64?<value>?=`: how a client sends a value that is not plain ASCII. */
const ENCODED = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A header value as the client meant it: `=?base64?…?=` decoded as UTF-8, anything else as is.
 * @returns `undefined` for an encoded value that is not valid base64 of UTF-8
 * @example decodeMcpHeaderValue("=?base64?Y2Fmw6k=?="); // "café"
 */
export function decodeMcpHeaderValue(value: string): string | undefined {
  const encoded = ENCODED.exec(value);
  if (!encoded) return value;
  try {
    return UTF8.decode(Uint8Array.from(atob(encoded[1]!), (char) => char.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * Which header disagrees with the message, `undefined` when none does (or none is sent).
 * Repeated headers arrive comma-joined and so disagree too.
 */
export function mcpHeaderMismatch(headers: Headers, message: McpMessage): string | undefined {
  const method = headers.get("mcp-method");
  if (method !== null && decodeMcpHeaderValue(method) !== message.method) return "Mcp-Method does not match the body's method";
  const name = headers.get("mcp-name");
  if (name !== null && decodeMcpHeaderValue(name) !== message.target?.name) return "Mcp-Name does not match the body's params.name or params.uri";
  return undefined;
}
