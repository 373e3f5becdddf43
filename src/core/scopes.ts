/**
 * @module
 * Scope matching of SPEC §3: the one {@link satisfies} rule, its precompiled form for the hot path
 * ({@link compileGrants}, {@link grantsSatisfy}), and the checks on scopes a key is granted
 * (catalog membership, never more than the creator holds, presets).
 */
import { KEYGATE_SCOPES, SCOPE_PATTERN, WILDCARD_PATTERN } from "./scope-grammar";

const ALL = "*";
const WILDCARD_SUFFIX = ":*";
const KEYGATE_PREFIX = "keygate:";
const KEYS_READ = "keygate:keys:read";
const KEYS_WRITE = "keygate:keys:write";

/** A key's granted scopes, compiled once so each check is a few set lookups and prefix tests. */
export interface GrantSet {
  /** Every granted entry, wildcards included (a wildcard required is satisfied by itself). */
  readonly exact: ReadonlySet<string>;
  /** Whether `*` is granted. */
  readonly all: boolean;
  /** `P:` for each granted `P:*`. */
  readonly prefixes: readonly string[];
}

/** The scope catalog and presets a policy provides; `keygate:` scopes are implicitly included. */
export interface Catalog {
  scopes: Readonly<Record<string, string>>;
  wildcards: Readonly<Record<string, string>>;
  presets: Readonly<Record<string, readonly string[]>>;
}

/**
 * Whether a granted scope satisfies a required one: G = R, G = `*` (except for `keygate:`
 * scopes), or G = `P:*` and R starts with `P:`; `keygate:keys:write` also satisfies
 * `keygate:keys:read`. R may itself be a wildcard, when checking what a creator may grant.
 * Both arguments are expected to match the scope grammar.
 *
 * @example
 * satisfies("real-prompter:*", "real-prompter:project:read"); // true
 * satisfies("*", "keygate:keys:read"); // false
 */
export function satisfies(granted: string, required: string): boolean {
  if (granted === required) return true;
  if (granted === KEYS_WRITE) return required === KEYS_READ;
  if (granted === ALL) return !required.startsWith(KEYGATE_PREFIX);
  return granted.endsWith(WILDCARD_SUFFIX) && required.startsWith(granted.slice(0, -1));
}

/**
 * Compiles granted scopes for {@link grantsSatisfy}; do it once per key, as it enters the cache.
 *
 * @param scopes - granted scopes and wildcards
 */
export function compileGrants(scopes: readonly string[]): GrantSet {
  return {
    exact: new Set(scopes),
    all: scopes.includes(ALL),
    prefixes: scopes.filter((s) => s.endsWith(WILDCARD_SUFFIX)).map((s) => s.slice(0, -1)),
  };
}

/**
 * Whether any of the compiled grants {@link satisfies} `required`.
 *
 * @example
 * grantsSatisfy(compileGrants(["stories:*"]), "stories:publish"); // true
 */
export function grantsSatisfy(grants: GrantSet, required: string): boolean {
  if (grants.exact.has(required)) return true;
  if (required === KEYS_READ && grants.exact.has(KEYS_WRITE)) return true;
  if (grants.all && !required.startsWith(KEYGATE_PREFIX)) return true;
  for (const prefix of grants.prefixes) {
    if (required.startsWith(prefix)) return true;
  }
  return false;
}

/**
 * The required scopes the grants do not satisfy, in order, for `insufficient_scope` details.
 *
 * @returns an empty array when the grants cover every required scope
 */
export function missingScopes(grants: GrantSet, required: readonly string[]): string[] {
  return required.filter((scope) => !grantsSatisfy(grants, scope));
}

/**
 * The requested entries a key may not be granted: invalid grammar (`*:read`, `con*:read`,
 * `Content:Read`), a scope in neither the catalog nor Keygate's own, or a wildcard that covers no
 * such scope. A wildcard need not be listed in `catalog.wildcards`.
 *
 * @returns the bad entries, in order, for a 400 naming them
 */
export function catalogIssues(requested: readonly string[], catalog: Catalog): string[] {
  const known = [...Object.keys(catalog.scopes), ...Object.keys(KEYGATE_SCOPES)];
  return requested.filter((entry) => {
    if (SCOPE_PATTERN.test(entry)) return !known.includes(entry);
    if (WILDCARD_PATTERN.test(entry)) return !known.some((scope) => satisfies(entry, scope));
    return true;
  });
}

/**
 * The requested entries the creator's grants do not satisfy: a creator never grants more than
 * it holds, so a wildcard is only grantable by a creator holding it or a wider one.
 *
 * @returns an empty array when the creator may grant everything requested
 */
export function exceedingScopes(requested: readonly string[], creator: GrantSet): string[] {
  return missingScopes(creator, requested);
}

/**
 * A copy of a preset's scopes, to be stored with the key (later policy changes do not apply).
 *
 * @returns `undefined` for an unknown preset
 */
export function expandPreset(name: string, catalog: Catalog): string[] | undefined {
  const preset = Object.hasOwn(catalog.presets, name) ? catalog.presets[name] : undefined;
  return preset && [...preset];
}

/** The scopes without duplicates, first occurrences kept in order. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)];
}
