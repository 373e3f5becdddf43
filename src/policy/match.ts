/**
 * @module
 * The routing questions the gateway asks of a compiled policy for each request: which route it
 * takes (first match in policy order, by Hono's own router), whether its path is ambiguous
 * (SPEC §4), and which project it names.
 */
import { METHOD_NAME_ALL, type Params } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import { tryDecodeURIComponent } from "hono/utils/url";
import { queryValues } from "../core/query-name";
import type { Issue } from "../errors";
import { ProjectIdSchema } from "../schemas/key";
import { type ProjectLocator, ROUTE_METHODS } from "../schemas/policy";
import type { McpRules } from "./mcp-rules";

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

/** The per-request questions of a compiled policy's routes. */
export interface RouteMatcher {
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

/** The raw path of a URL: after the authority, before `?` or `#`. */
const RAW_PATH = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/\\?#]*)?([^?#]*)/i;
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;
const ENCODED_NAMES: Record<string, string> = { "%2f": "/", "%5c": "\\", "%00": "NUL" };
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** Tomcat, Jetty and Spring drop a segment's `;parameters` before resolving dot segments. */
const PATH_PARAMETERS = /;|%3b/i;
/** What every issue below needs one of; a path without any (nearly every request) is fine at once. */
const MAY_HAVE_ISSUE = /[\\\0%.;]|\/\//;

/** The matcher of `routes`, compiled once with the policy. */
export function routeMatcher(routes: readonly CompiledRoute[]): RouteMatcher {
  const router = new TrieRouter<CompiledRoute>();
  for (const route of routes) router.add(METHOD_NAME_ALL, route.path, route);

  // Every route is registered for every method; the method is filtered here so that `*` and
  // HEAD-follows-GET keep policy order. TrieRouter answers in registration order, with params.
  const matches = (path: string) => router.match(METHOD_NAME_ALL, path)[0] as [CompiledRoute, Params][];

  return {
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
  if (!MAY_HAVE_ISSUE.test(path)) return undefined;
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
 * Why a request's trailing slash is ambiguous, or `undefined` when it is not: Hono's own `hono/quick`
 * and `hono/tiny` routers, `strict: false` apps and many origins (Express, by default) serve
 * `/a/b/` as `/a/b`, so a slash that moves the request to another policy route (a catch-all
 * `/a/*` after a stricter `/a/b`) would be checked against one route and served as the other.
 *
 * @param match - The route `path` takes (`matcher.matchRoute(method, path)`).
 */
export function trailingSlashIssue(matcher: RouteMatcher, method: string, path: string, match: RouteMatch): string | undefined {
  if (path.length <= 1 || !path.endsWith("/")) return undefined;
  if (matcher.matchRoute(method, path.slice(0, -1))?.route === match.route) return undefined;
  return "the path's trailing slash takes it to another policy route than the path without it";
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
