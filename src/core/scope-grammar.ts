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

/** The concrete scopes of a catalog (a policy's `scopes` map): what a route may require. */
export type CatalogScope<Catalog> = Extract<keyof Catalog, string>;

/** The 1- and 2-segment prefixes of a scope: `a:b:c` → `a` | `a:b`. */
type ScopePrefix<S extends string> = S extends `${infer A}:${infer B}:${string}` ? A | `${A}:${B}` : S extends `${infer A}:${string}` ? A : never;

/**
 * What a key or token may be granted from a catalog (SPEC §3): one of its scopes, `*`, or a
 * `prefix:*` wildcard over one of its scopes' prefixes. Types only; the checks stay string-based.
 * @example type Grant = Scope<{ "content:read": "…" }>; // "content:read" | "*" | "content:*"
 */
export type Scope<Catalog> = CatalogScope<Catalog> | "*" | `${ScopePrefix<CatalogScope<Catalog>>}:*`;
