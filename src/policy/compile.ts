/**
 * @module
 * The policy of SPEC §5, validated, cross-checked and compiled once per isolate (its per-request
 * routing questions are ./match.ts).
 */
import { METHOD_NAME_ALL } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import { checkOptionalParameter, getPattern, splitRoutingPath } from "hono/utils/url";
import type { core } from "zod";
import bundledPolicy from "../../policy.json";
import { type Issue, KeygateError } from "../errors";
import type { RateLimitRule } from "../schemas/key";
import { type Policy, PolicySchema, type Preset, type Route } from "../schemas/policy";
import { WILDCARD_PATTERN } from "../core/scope-grammar";
import { type CompiledRoute, routeMatcher, type RouteMatcher } from "./match";
import { compileMcpRules, mcpScopeEntries } from "./mcp-rules";
import { type Catalog, satisfies } from "../core/scopes";

/** A policy ready to answer requests. */
/** Where a middleware gets a request's policy: {@link loadPolicy} (Keygate's Worker), or a fixed one (keygate/hono). */
export type PolicySource = (env: { POLICY?: string }) => CompiledPolicy;

export interface CompiledPolicy extends RouteMatcher {
  policy: Policy;
  /** Canonical JSON text of `policy` (sorted keys, defaults filled in), for hashing. */
  json: string;
  catalog: Catalog;
  /** Each preset's rate limits and quota, copied to keys made from it. */
  presetLimits: Readonly<Record<string, Pick<Preset, "rate_limits" | "quota">>>;
  /** Limits on every OAuth access token, counted per (user, client). */
  oauthRateLimits: readonly RateLimitRule[];
  cors: { origins: ReadonlySet<string>; maxAge: number };
  routes: readonly CompiledRoute[];
  /** The `{header}` project locators of all routes, lowercased, so the proxy can drop their twins. */
  headerLocators: ReadonlySet<string>;
}

const KEYGATE_SCOPE_PREFIX = "keygate:";
const RESERVED_PATH = /^\/_keygate(?:[/*]|$)/;

/**
 * Validates `raw` against the policy schema, cross-checks its entries and compiles its routes.
 *
 * @param raw - The parsed policy JSON.
 * @returns The compiled policy.
 * @throws {KeygateError} `POLICY_INVALID`, its message naming every bad entry
 *   (`routes[3].scopes[0]: "content:wrte" is not in the catalog`), `details.issues` listing them.
 * @example
 * const policy = compilePolicy(JSON.parse(text));
 * policy.matchRoute("GET", "/api/v1/projects/p1"); // { route, params: { id: "p1" } }
 */
export function compilePolicy(raw: unknown): CompiledPolicy {
  const parsed = PolicySchema.safeParse(raw);
  if (!parsed.success) {
    throw policyInvalid(parsed.error.issues.map((issue) => ({ path: entryPath(issue.path), message: zodMessage(issue) })));
  }
  const policy = parsed.data;
  const issues = crossCheck(policy);
  if (issues.length > 0) throw policyInvalid(issues);

  const routes = policy.routes.map(compileRoute);
  return {
    policy,
    json: canonicalJson(policy),
    catalog: { scopes: policy.scopes, wildcards: policy.wildcards, presets: mapValues(policy.presets, (preset) => preset.scopes) },
    presetLimits: mapValues(policy.presets, ({ rate_limits, quota }) => ({ rate_limits, quota })),
    oauthRateLimits: policy.rate_limits.oauth,
    cors: { origins: new Set(policy.cors.origins), maxAge: policy.cors.max_age },
    routes,
    ...routeMatcher(routes),
    headerLocators: new Set(routes.flatMap(({ project }) => (typeof project === "object" && "header" in project ? [project.header.toLowerCase()] : []))),
  };
}

const loaded = new Map<string, CompiledPolicy | KeygateError>();

/**
 * The isolate's compiled policy: `env.POLICY` when set, else the bundled `policy.json`. Each
 * distinct source is compiled once; an invalid one throws the same error on every call, so every
 * routed request answers 500 naming the bad entry.
 *
 * @param env - Bindings; only `POLICY` is read.
 * @throws {KeygateError} `POLICY_INVALID` when the policy is not JSON or does not validate.
 */
export function loadPolicy(env: { POLICY?: string }): CompiledPolicy {
  const source = env.POLICY ?? "";
  let result = loaded.get(source);
  if (result === undefined) {
    result = compileSource(source);
    loaded.set(source, result);
  }
  if (result instanceof KeygateError) throw result;
  return result;
}

function compileSource(source: string): CompiledPolicy | KeygateError {
  try {
    return compilePolicy(source === "" ? bundledPolicy : parseJson(source));
  } catch (error) {
    if (error instanceof KeygateError) return error;
    throw error;
  }
}

function parseJson(source: string): unknown {
  try {
    return JSON.parse(source);
  } catch {
    throw new KeygateError("POLICY_INVALID", "POLICY is not valid JSON");
  }
}

function crossCheck(policy: Policy): Issue[] {
  const issues: Issue[] = [];
  const report = (path: PropertyKey[], message: string) => issues.push({ path: entryPath(path), message });
  const catalog = Object.keys(policy.scopes);
  const coversCatalog = (wildcard: string) => catalog.some((scope) => satisfies(wildcard, scope));

  for (const scope of catalog) {
    if (scope.startsWith(KEYGATE_SCOPE_PREFIX)) report(["scopes", scope], "the keygate: prefix is reserved for Keygate's admin API");
  }
  for (const wildcard of Object.keys(policy.wildcards)) {
    if (!coversCatalog(wildcard)) report(["wildcards", wildcard], "covers no catalog scope");
  }
  for (const [name, { scopes: entries }] of Object.entries(policy.presets)) {
    entries.forEach((entry, i) => {
      if (WILDCARD_PATTERN.test(entry)) {
        if (!coversCatalog(entry)) report(["presets", name, i], `"${entry}" covers no catalog scope`);
      } else if (!Object.hasOwn(policy.scopes, entry)) {
        report(["presets", name, i], `"${entry}" is not in the catalog`);
      }
    });
  }
  policy.routes.forEach((route, i) => {
    for (const { path, message } of routeIssues(route, policy.scopes)) report(["routes", i, ...path], message);
  });
  return issues;
}

function* routeIssues(route: Route, scopes: Policy["scopes"]): Generator<{ path: PropertyKey[]; message: string }> {
  const pathIssue = RESERVED_PATH.test(route.path) ? "/_keygate/* is reserved" : patternError(route.path);
  if (pathIssue) yield { path: ["path"], message: pathIssue };
  for (const [i, scope] of route.scopes.entries()) {
    if (!Object.hasOwn(scopes, scope)) yield { path: ["scopes", i], message: `"${scope}" is not in the catalog` };
  }
  if (route.public && route.scopes.length > 0) yield { path: ["scopes"], message: "a public route requires no scopes" };
  if (route.public && route.project) yield { path: ["project"], message: "a public route names no project" };
  if (typeof route.project === "object" && "param" in route.project && !pathParams(route.path).has(route.project.param)) {
    yield { path: ["project", "param"], message: `"${route.project.param}" is not a parameter of the path` };
  }
  if (route.mcp) {
    // Its path is the resource URL that tokens are bound to and metadata is published for.
    if (/[:*]/.test(route.path)) yield { path: ["path"], message: "an mcp route's path is literal (no :param, no *)" };
    if (route.public) yield { path: ["public"], message: "an mcp route is not public (its tools need a caller)" };
    for (const { path, scope } of mcpScopeEntries(route.mcp)) {
      if (!Object.hasOwn(scopes, scope)) yield { path: ["mcp", ...path], message: `"${scope}" is not in the catalog` };
    }
  }
}

/** Hono's router compiles `{regex}` parameters as it adds them; a bad one is a policy error. */
function patternError(path: string): string | undefined {
  try {
    new TrieRouter<null>().add(METHOD_NAME_ALL, path, null);
    return undefined;
  } catch (error) {
    return `is not a valid route pattern (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** The `:param` names of a route path, parsed the way Hono's router parses them. */
function pathParams(path: string): Set<string> {
  const names = new Set<string>();
  for (const variant of checkOptionalParameter(path) ?? [path]) {
    for (const label of splitRoutingPath(variant)) {
      const pattern = getPattern(label);
      if (Array.isArray(pattern)) names.add(pattern[1]);
    }
  }
  return names;
}

function compileRoute(route: Route, index: number): CompiledRoute {
  return {
    index,
    method: route.method,
    path: route.path,
    scopes: route.scopes,
    public: route.public,
    sessions: route.sessions,
    project: route.project,
    cost: route.cost,
    mcp: route.mcp && compileMcpRules(route.mcp),
  };
}

function policyInvalid(issues: Issue[]): KeygateError {
  const message = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
  return new KeygateError("POLICY_INVALID", message, { details: { issues } });
}

/** A bad record key's own message, rather than zod's generic "Invalid key in record". */
function zodMessage(issue: core.$ZodIssue): string {
  return issue.code === "invalid_key" ? issue.issues.map((inner) => inner.message).join("; ") : issue.message;
}

/** `routes[3].scopes[0]`, `presets.read-only[1]`, `wildcards["foo:*"]`. */
function entryPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(key))) text += text === "" ? String(key) : `.${String(key)}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text || "(root)";
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, map(value)]));
}

/** JSON with object keys sorted, so equal policies hash equally. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, node: unknown) =>
    node !== null && typeof node === "object" && !Array.isArray(node)
      ? Object.fromEntries(Object.entries(node).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : node,
  );
}
