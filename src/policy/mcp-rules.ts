/**
 * @module
 * A route's `mcp` map (SPEC §10), compiled once with the policy: which scopes a tool, prompt or
 * resource needs. Lookup order: the exact name, then (resources) the longest matching prefix
 * pattern, then `*`, then `default`; a `"deny"` default leaves a name no entry covers unusable.
 */
import type { McpPolicy } from "../schemas/policy";

/** What an MCP message can name. */
export type McpTargetKind = "tools" | "prompts" | "resources";

/** A compiled `mcp` map. */
export interface McpRules {
  /**
   * The scopes a message naming `name` needs beyond the route's own, `undefined` when no entry
   * covers it and the default denies.
   */
  requiredFor(kind: McpTargetKind, name: string): readonly string[] | undefined;
  /** Every scope the map names, without duplicates, for `scopes_supported`. */
  scopes: readonly string[];
}

interface NameTable {
  exact: ReadonlyMap<string, readonly string[]>;
  /** `[prefix, scopes]` longest first, from patterns ending in `*` (resources only). */
  prefixes: readonly (readonly [string, readonly string[]])[];
}

const ANY = "*";

/**
 * Compiles a route's `mcp` map.
 * @example
 * compileMcpRules({ tools: { list_stories: ["stories:read"] }, prompts: {}, resources: {}, default: "deny" })
 *   .requiredFor("tools", "list_stories"); // ["stories:read"]
 */
export function compileMcpRules(mcp: McpPolicy): McpRules {
  const fallback = mcp.default === "deny" ? undefined : mcp.default;
  const tables: Record<McpTargetKind, NameTable> = {
    tools: nameTable(mcp.tools, false),
    prompts: nameTable(mcp.prompts, false),
    resources: nameTable(mcp.resources, true),
  };
  return {
    requiredFor(kind, name) {
      const table = tables[kind];
      const exact = table.exact.get(name);
      if (exact) return exact;
      for (const [prefix, scopes] of table.prefixes) {
        if (name.startsWith(prefix)) return scopes;
      }
      return fallback;
    },
    scopes: [...new Set([mcp.tools, mcp.prompts, mcp.resources].flatMap((map) => Object.values(map).flat()).concat(fallback ?? []))],
  };
}

/** Where each of the map's scope lists sits, for the policy's catalog check. */
export function* mcpScopeEntries(mcp: McpPolicy): Generator<{ path: PropertyKey[]; scope: string }> {
  for (const kind of ["tools", "prompts", "resources"] as const) {
    for (const [name, scopes] of Object.entries(mcp[kind])) {
      for (const [i, scope] of scopes.entries()) yield { path: [kind, name, i], scope };
    }
  }
  if (mcp.default !== "deny") {
    for (const [i, scope] of mcp.default.entries()) yield { path: ["default", i], scope };
  }
}

function nameTable(map: Readonly<Record<string, readonly string[]>>, patterns: boolean): NameTable {
  const exact = new Map<string, readonly string[]>();
  const prefixes: [string, readonly string[]][] = [];
  for (const [name, scopes] of Object.entries(map)) {
    if (name === ANY || (patterns && name.endsWith(ANY))) prefixes.push([name.slice(0, -1), scopes]);
    else exact.set(name, scopes);
  }
  prefixes.sort(([a], [b]) => b.length - a.length);
  return { exact, prefixes };
}
