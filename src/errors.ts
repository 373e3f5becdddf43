/**
 * @module
 * One error type for every response Keygate produces itself, and the handler that renders it.
 */
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { isD1Outage } from "./core/d1-outage";

export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "POLICY_INVALID"
  | "BAD_GATEWAY"
  | "GATEWAY_TIMEOUT"
  | "UNAVAILABLE"
  | "INTERNAL";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  POLICY_INVALID: 500,
  BAD_GATEWAY: 502,
  GATEWAY_TIMEOUT: 504,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

const RETRY_AFTER_S = "5";

export interface Issue {
  path: string;
  message: string;
}

export interface KeygateErrorOptions {
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** An error response of the contract: `{ ok: false, code, message, details }`. */
export class KeygateError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: KeygateErrorOptions = {}) {
    super(STATUS[code], { message });
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  /** The 503 of SPEC §4 when D1 is needed and unreachable: fail closed, retry after 5 s. */
  static unavailable(): KeygateError {
    return new KeygateError("UNAVAILABLE", "auth backend unavailable", { headers: { "Retry-After": RETRY_AFTER_S } });
  }

  /** A 400 `invalid_request` listing what is wrong with the input. */
  static badRequest(issues: Issue[]): KeygateError {
    return new KeygateError("BAD_REQUEST", "invalid_request", { details: { issues } });
  }

  /** The response body: `{ ok: false, code, message, details? }`. */
  body(): { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { ok: false, code: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }

  override getResponse(): Response {
    return Response.json(this.body(), { status: this.status, headers: this.headers });
  }
}

/** Converts a zod error to the contract's issue list. */
export function zodIssues(error: ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}

/** `app.onError`: every thrown error becomes a contract-shaped JSON response. */
export const handleError: ErrorHandler = (err) => {
  if (err instanceof KeygateError) return err.getResponse();
  if (err instanceof HTTPException) {
    const code: ErrorCode = err.status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST";
    return new KeygateError(code, err.message || "invalid_request").getResponse();
  }
  if (isD1Outage(err)) {
    console.error(JSON.stringify({ level: "error", msg: "D1 unavailable", error: String(err) }));
    return KeygateError.unavailable().getResponse();
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", error: String(err) }));
  return new KeygateError("INTERNAL", "internal error").getResponse();
};
