/**
 * @module
 * Who Keygate says is calling, and the `x-keygate-*` headers that carry it to the origin (SPEC §6).
 * Dependency-free, so origins can import it alongside `./signature`.
 */

/** The credential that decided the request (SPEC §1), or ADMIN_TOKEN. */
export type Caller = "api_key" | "oauth" | "session" | "admin";

/** The identity Keygate resolved and the origin receives. */
export interface KeygateIdentity {
  /** Absent for an anonymous request on a public route. */
  caller?: Caller;
  keyId?: string;
  orgId?: string;
  /** The checked or bound project. */
  projectId?: string;
  /** Granted scopes. */
  scopes: readonly string[];
  /** Set for oauth and session callers. */
  userId?: string;
  requestId: string;
}

/** Every header Keygate adds starts with this; incoming ones are dropped so clients cannot forge them. */
export const KEYGATE_HEADER_PREFIX = "x-keygate-";

/** The header carrying each identity field. */
export const IDENTITY_HEADERS = {
  caller: "x-keygate-caller",
  keyId: "x-keygate-key-id",
  orgId: "x-keygate-org-id",
  projectId: "x-keygate-project-id",
  scopes: "x-keygate-scopes",
  userId: "x-keygate-user-id",
  requestId: "x-keygate-request-id",
} as const satisfies Record<keyof KeygateIdentity, string>;

const CALLERS: ReadonlySet<string> = new Set<Caller>(["api_key", "oauth", "session", "admin"]);

/** Narrows a header value to a {@link Caller}. */
export function isCaller(value: string): value is Caller {
  return CALLERS.has(value);
}
