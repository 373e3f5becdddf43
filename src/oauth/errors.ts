/**
 * @module
 * OAuth error responses (RFC 6749 §5.2, RFC 8628 §3.5): `{ error, error_description }`, status 400
 * (401 for `invalid_client`), never cached. They extend {@link KeygateError} so the one `onError`
 * renders them.
 */
import { KeygateError } from "../errors";

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "invalid_scope"
  | "invalid_target"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "authorization_pending"
  | "slow_down"
  | "access_denied"
  | "expired_token";

/** Token responses and errors must not be cached (RFC 6749 §5.1). */
export const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;

export class OAuthError extends KeygateError {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(error === "invalid_client" ? "UNAUTHORIZED" : "BAD_REQUEST", error);
  }

  override getResponse(): Response {
    return Response.json({ error: this.error, error_description: this.description }, { status: this.status, headers: NO_STORE });
  }
}
