/**
 * @module
 * The scope grammar of SPEC §3, shared by the policy schema, admin inputs and the matcher, and
 * Keygate's own scopes.
 */

const SEGMENT = "[a-z0-9][a-z0-9_-]*";

/** A concrete scope: 2 or 3 segments, e.g. `content:read`, `real-prompter:project:read`. */
export const SCOPE_PATTERN = new RegExp(`^${SEGMENT}:${SEGMENT}(?::${SEGMENT})?$`);

/** `*`, or a prefix of 1 or 2 segments followed by `:*`, e.g. `stories:*`, `real-prompter:project:*`. */
export const WILDCARD_PATTERN = new RegExp(`^(?:\\*|${SEGMENT}(?::${SEGMENT})?:\\*)$`);

/** Keygate's own scopes, for its admin API. Never satisfied by `*`. */
export const KEYGATE_SCOPES = {
  "keygate:keys:read": "List and read API keys of the caller's org (or bound project)",
  "keygate:keys:write": "Create, change, rotate and revoke API keys (implies keygate:keys:read)",
  "keygate:projects:write": "Create projects in the caller's org",
  "keygate:audit:read": "Read and export the audit log of the caller's org (or bound project)",
} as const;

export type KeygateScope = keyof typeof KEYGATE_SCOPES;
