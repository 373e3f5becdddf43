/**
 * @module
 * The policy of SPEC §5, validated, cross-checked and compiled once per isolate, and the routing
 * questions the gateway asks of it: which route a request takes (first match in policy order, by
 * Hono's own router), whether its path is ambiguous (SPEC §4), and which project it names.
 */
import { METHOD_NAME_ALL, type Params } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import { checkOptionalParameter, getPattern, splitRoutingPath, tryDecodeURIComponent } from "hono/utils/url";
import type { core } from "zod";
import bundledPolicy from "../../policy.json";
import { type Issue, KeygateError } from "../errors";
import { ProjectIdSchema, type RateLimitRule } from "../schemas/key";
import { type Policy, PolicySchema, type Preset, type ProjectLocator, ROUTE_METHODS, type Route } from "../schemas/policy";
import { WILDCARD_PATTERN } from "../schemas/scope";
import { compileMcpRules, type McpRules, mcpScopeEntries } from "./mcp/rules";
import { queryValues } from "./query-name";
import { type Catalog, satisfies } from "./scopes";

/** One policy route, as the gateway checks it. */
export interface CompiledRoute {
  /** Position in the policy's `routes`, for audit and error messages. */
  index: number;
  /** An uppercase HTTP method, or `*` for any. */
  method: string;
  /** Hono's pattern syntax: `:param`, trailing `*`. */
  path: string;
  /** All are required; empty means any authenticated caller. */
  scopes: readonly string[];
  public: boolean;
  /** Whether dashboard session callers may use the route. */
  sessions: boolean;
  project: ProjectLocator | "origin" | undefined;
  /** Units one request counts against the caller's rate limits and quota. */
  cost: number;
  /** Per-message rules of an MCP route (SPEC §10). */
  mcp: McpRules | undefined;
}

/** The route a request takes, with its percent-decoded path parameters. */
export interface RouteMatch {
  route: CompiledRoute;
  params: Record<string, string>;
}

/** A policy ready to answer requests. */
export interface CompiledPolicy {
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
  /**
   * The first route in policy order that matches. `path` is the request path as Hono routes it
   * (`c.req.path`). A HEAD request also matches GET routes.
   */
  matchRoute(method: string, path: string): RouteMatch | undefined;
  /** Methods of the routes whose path matches `path`, for CORS preflight; empty when none does. */
  allowedMethods(path: string): string[];
}

/** Where a request names its project: the id, `undefined` when it names none, or why it is a 400. */
export type ProjectLocation = { ok: true; projectId: string | undefined } | { ok: false; issue: Issue };

const KEYGATE_SCOPE_PREFIX = "keygate:";
const RESERVED_PATH = /^\/_keygate(?:[/*]|$)/;
/** The raw path of a URL: after the authority, before `?` or `#`. */
const RAW_PATH = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/\\?#]*)?([^?#]*)/i;
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;
const ENCODED_NAMES: Record<string, string> = { "%2f": "/", "%5c": "\\", "%00": "NUL" };
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** Tomcat, Jetty and Spring drop a segment's `;parameters` before resolving dot segments. */
const PATH_PARAMETERS = /;|%3b/i;

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
  const router = new TrieRouter<CompiledRoute>();
  for (const route of routes) router.add(METHOD_NAME_ALL, route.path, route);

  // Every route is registered for every method; the method is filtered here so that `*` and
  // HEAD-follows-GET keep policy order. TrieRouter answers in registration order, with params.
  const matches = (path: string) => router.match(METHOD_NAME_ALL, path)[0] as [CompiledRoute, Params][];

  return {
    policy,
    json: canonicalJson(policy),
    catalog: { scopes: policy.scopes, wildcards: policy.wildcards, presets: mapValues(policy.presets, (preset) => preset.scopes) },
    presetLimits: mapValues(policy.presets, ({ rate_limits, quota }) => ({ rate_limits, quota })),
    oauthRateLimits: policy.rate_limits.oauth,
    cors: { origins: new Set(policy.cors.origins), maxAge: policy.cors.max_age },
    routes,
    headerLocators: new Set(routes.flatMap(({ project }) => (typeof project === "object" && "header" in project ? [project.header.toLowerCase()] : []))),
    matchRoute(method, path) {
      // Methods are compared uppercased: an origin that accepts `patch` as PATCH must not let it
      // slip past a PATCH route to a weaker `*` route.
      const wanted = method.toUpperCase();
      const match = matches(path).find(([route]) => methodMatches(route.method, wanted));
      return match && { route: match[0], params: decodeParams(match[1]) };
    },
    allowedMethods(path) {
      return [...new Set(matches(path).flatMap(([route]) => methodsOf(route.method)))];
    },
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

/**
 * Why a request path is ambiguous (SPEC §4), or `undefined` when it is not. Origins disagree on
 * what an encoded `/` or `\`, a NUL, a `.`/`..` segment (also one followed by `;parameters`, which
 * servlet containers resolve: `/public/..;/admin` is `/admin` there) or an empty segment (`//`)
 * mean, so such a path could match one route here and reach another resource there. Works on the raw URL text,
 * because `new URL()` already resolves dot segments and turns `\` into `/`.
 *
 * @param url - The request URL as received (`request.url`).
 * @example
 * requestPathIssue("https://gw.test/a/%2e%2e/b"); // "the path contains a . or .. segment"
 */
export function requestPathIssue(url: string): string | undefined {
  const path = RAW_PATH.exec(url)?.[1] ?? "";
  if (path.includes("\\")) return "the path contains a backslash";
  if (path.includes("\0")) return "the path contains a NUL";
  const encoded = ENCODED_SEPARATOR.exec(path)?.[0];
  if (encoded) return `the path contains an encoded ${ENCODED_NAMES[encoded.toLowerCase()]} (${encoded})`;
  const segments = path.split("/").slice(1);
  if (segments.some((segment) => DOT_SEGMENT.test(segment))) return "the path contains a . or .. segment";
  if (segments.some((segment) => DOT_SEGMENT.test(segment.split(PATH_PARAMETERS, 1)[0]!))) {
    return "the path contains a . or .. segment before a ; (such as ..;)";
  }
  if (segments.slice(0, -1).includes("")) return "the path contains an empty segment (//)";
  return undefined;
}

/**
 * Reads the project a request names at `locator` (SPEC §5 `project`).
 *
 * @param locator - The route's `project` locator.
 * @param request - The request, for `{header}`.
 * @param params - The matched route's decoded path parameters, for `{param}`.
 * @param url - The parsed request URL, for `{query}`: every parameter whose name normalizes to the
 *   locator (case, `[]`/`[n]` suffixes, surrounding spaces; `;` separates like `&`; see
 *   `queryValues`) is a value.
 * @returns The project id (`undefined` when the request names none), or a 400 issue when the
 *   request names two projects or an id outside `[A-Za-z0-9_-]{1,64}`.
 */
export function locateProject(
  locator: ProjectLocator,
  request: Request,
  params: Record<string, string>,
  url: URL,
): ProjectLocation {
  if ("param" in locator) return projectIdAt(`params.${locator.param}`, params[locator.param]);
  if ("query" in locator) {
    const path = `query.${locator.query}`;
    const values = queryValues(url.search, locator.query);
    return values.length > 1 ? twoProjects(path) : projectIdAt(path, values[0]);
  }
  const path = `header.${locator.header}`;
  const value = request.headers.get(locator.header);
  // Headers joins repeated headers with ", ".
  return value?.includes(",") ? twoProjects(path) : projectIdAt(path, value ?? undefined);
}

function projectIdAt(path: string, value: string | undefined): ProjectLocation {
  if (value === undefined) return { ok: true, projectId: undefined };
  if (!ProjectIdSchema.safeParse(value).success) {
    return { ok: false, issue: { path, message: "a project id must match [A-Za-z0-9_-]{1,64}" } };
  }
  return { ok: true, projectId: value };
}

function twoProjects(path: string): ProjectLocation {
  return { ok: false, issue: { path, message: "two project values" } };
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

function methodMatches(routeMethod: string, method: string): boolean {
  return routeMethod === "*" || routeMethod === method || (method === "HEAD" && routeMethod === "GET");
}

function methodsOf(routeMethod: string): readonly string[] {
  if (routeMethod === "*") return ROUTE_METHODS;
  return routeMethod === "GET" ? ["GET", "HEAD"] : [routeMethod];
}

/** Percent-decodes path parameters as Hono's `c.req.param()` does. */
function decodeParams(params: Params): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    // TrieRouter fills each key a route may have; one it could not fill is left undefined.
    if (value !== undefined) decoded[name] = tryDecodeURIComponent(value);
  }
  return decoded;
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
