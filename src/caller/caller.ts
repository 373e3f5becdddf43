/**
 * @module
 * Who is calling, once the credential is resolved: the one caller type every check, the audit
 * event and the admin API read.
 */
import type { ActiveKey } from "./active-key";
import type { ActiveToken } from "./active-token";
import type { Principal } from "./principal";

/** Who is calling, once the credential is resolved. */
export type Caller =
  | { kind: "anonymous" }
  | { kind: "admin" }
  | { kind: "api_key"; key: ActiveKey }
  | { kind: "oauth"; token: ActiveToken }
  | { kind: "session"; userId: string; activeOrgId: string | null; admin?: SessionAdmin };

/**
 * What a session acts with at the admin API (SPEC §8): one org it belongs to, the scopes of its role
 * there as a principal, and the role names themselves (people management checks roles, not scopes).
 */
export interface SessionAdmin {
  principal: Principal;
  roles: readonly string[];
}

/**
 * The caller's principal; `undefined` for ADMIN_TOKEN, anonymous callers and gateway sessions (a
 * session has one only at the admin API, where its role in the org it acts for gives it scopes).
 */
export function principalOf(caller: Caller): Principal | undefined {
  if (caller.kind === "api_key") return caller.key;
  if (caller.kind === "oauth") return caller.token.principal;
  if (caller.kind === "session") return caller.admin?.principal;
  return undefined;
}
