/**
 * @module
 * The per-key Origin allowlist of SPEC §7 (`allowed_origins`).
 *
 * Rules are validated by the admin API (`originRuleIssue`), stored in canonical form
 * (`normalizeOriginRule`) and compiled once when a key enters the in-memory cache
 * (`compileOriginAllowlist`); per request only the caller's own Origin is parsed. Compiled lists
 * hold sets: keep them in memory, never in KV or JSON.
 */
import { convertIPv6BinaryToString } from "hono/utils/ipaddr";
import { parseIpAddress } from "./ip";

type Scheme = "http" | "https";

interface Origin {
  scheme: Scheme;
  /** Lowercase; an IPv6 literal keeps its brackets; a wildcard rule's host excludes the `*.`. */
  host: string;
  /** Empty for the scheme's default port. */
  port: string;
  wildcard: boolean;
}

/** One-label wildcard: `https://*.example.com:8443` is `{ scheme, suffix: ".example.com", port }`. */
interface WildcardOrigin {
  scheme: Scheme;
  suffix: string;
  port: string;
}

/** A compiled `allowed_origins` list; build it with {@link compileOriginAllowlist}. */
export interface OriginAllowlist {
  /** Canonical exact origins. */
  readonly exact: ReadonlySet<string>;
  readonly wildcards: readonly WildcardOrigin[];
}

const DEFAULT_PORTS: Record<Scheme, string> = { http: "80", https: "443" };
const ORIGIN_PATTERN = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^]*)$/i;
const AUTHORITY_PATTERN = /^(\[[^\]]*\]|[^:]*)(?::([^]*))?$/;
const PORT_PATTERN = /^[1-9][0-9]{0,4}$/;
const DNS_LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC_LABEL_PATTERN = /^[0-9]+$/;
const WILDCARD_PREFIX = "*.";

function isScheme(scheme: string): scheme is Scheme {
  return Object.hasOwn(DEFAULT_PORTS, scheme);
}

/** Letter-digit-hyphen labels; a numeric last label would make it an IPv4 address to a browser. */
function isDnsName(host: string): boolean {
  const labels = host.split(".");
  return labels.every((label) => DNS_LABEL_PATTERN.test(label)) && !NUMERIC_LABEL_PATTERN.test(labels.at(-1) ?? "");
}

/** Checks a lowercase host; returns its canonical form or an issue. */
function parseOriginHost(host: string, allowWildcard: boolean): Pick<Origin, "host" | "wildcard"> | string {
  if (host.startsWith("[") && host.endsWith("]")) {
    const address = parseIpAddress(host.slice(1, -1));
    if (address?.family !== 6) return "invalid IPv6 host";
    return { host: `[${convertIPv6BinaryToString(address.value)}]`, wildcard: false };
  }
  if (allowWildcard && host.startsWith(WILDCARD_PREFIX)) {
    const parent = host.slice(WILDCARD_PREFIX.length);
    if (!parent.includes(".") || !isDnsName(parent)) {
      return "a wildcard needs at least two DNS labels after '*.'";
    }
    return { host: parent, wildcard: true };
  }
  if (allowWildcard && host.includes("*")) return "'*' must be the whole leftmost label ('https://*.example.com')";
  if (!isDnsName(host) && parseIpAddress(host)?.family !== 4) {
    return "invalid host (ASCII/punycode DNS name or IP address)";
  }
  return { host, wildcard: false };
}

/**
 * Parses `scheme://host[:port]` strictly (no path, not even `/`, no query, fragment or userinfo)
 * into canonical parts: scheme and host lowercased, default port dropped.
 */
function parseOrigin(text: string, allowWildcard: boolean): Origin | string {
  const match = ORIGIN_PATTERN.exec(text);
  if (!match) return "not an origin (scheme://host[:port])";
  const [, rawScheme = "", authority = "", rest = ""] = match;
  const scheme = rawScheme.toLowerCase();
  if (!isScheme(scheme)) return "scheme must be http or https";
  if (rest !== "") return "must not have a path, query or fragment";
  if (authority.includes("@")) return "must not have userinfo";
  const [, rawHost = "", rawPort] = AUTHORITY_PATTERN.exec(authority) ?? [];
  if (rawHost === "") return "missing or invalid host";
  if (rawPort !== undefined && !(PORT_PATTERN.test(rawPort) && Number(rawPort) <= 65535)) {
    return "port must be an integer from 1 to 65535";
  }
  const host = parseOriginHost(rawHost.toLowerCase(), allowWildcard);
  if (typeof host === "string") return host;
  const port = rawPort === DEFAULT_PORTS[scheme] ? "" : (rawPort ?? "");
  return { scheme, port, ...host };
}

function requireOriginRule(rule: string): Origin {
  const parsed = parseOrigin(rule, true);
  if (typeof parsed === "string") throw new TypeError(`Invalid origin rule "${rule}": ${parsed}`);
  return parsed;
}

function formatOrigin({ scheme, host, port, wildcard }: Origin): string {
  return `${scheme}://${wildcard ? WILDCARD_PREFIX : ""}${host}${port ? `:${port}` : ""}`;
}

/** Whether `host` is exactly one DNS label followed by `suffix` (`.example.com`). */
function isOneLabelUnder(host: string, suffix: string): boolean {
  return host.length > suffix.length && host.endsWith(suffix) && !host.slice(0, -suffix.length).includes(".");
}

/**
 * Why `rule` is not a valid `allowed_origins` entry, for zod refinements of admin input.
 *
 * A rule is an exact origin `http(s)://host[:port]` or a one-label wildcard
 * `https://*.example.com[:port]` (the `*` is the whole leftmost label, two or more labels follow).
 * Anything with a path (even a trailing `/`), query, fragment or userinfo is refused, as are other
 * schemes, scheme-less hosts, Unicode hosts (write punycode, as browsers send) and `null`.
 *
 * @param rule - The origin rule as entered.
 * @returns `undefined` when valid, else a short message such as `"scheme must be http or https"`.
 * @example
 * originRuleIssue("https://app.example.com/"); // "must not have a path, query or fragment"
 */
export function originRuleIssue(rule: string): string | undefined {
  const parsed = parseOrigin(rule, true);
  return typeof parsed === "string" ? parsed : undefined;
}

/**
 * The canonical text of an `allowed_origins` entry, for storage: scheme and host lowercased,
 * default port dropped (`HTTPS://App.Example.com:443` → `https://app.example.com`), IPv6 hosts
 * per RFC 5952. This is also how a browser serializes an `Origin` header.
 *
 * @param rule - A rule accepted by {@link originRuleIssue}.
 * @returns The canonical rule.
 * @throws {TypeError} When `rule` is invalid.
 */
export function normalizeOriginRule(rule: string): string {
  return formatOrigin(requireOriginRule(rule));
}

/** Most keys have no Origin rules; they all share this one compiled list (read-only by type). */
const NO_ORIGIN_RULES: OriginAllowlist = Object.freeze({ exact: new Set<string>(), wildcards: Object.freeze([]) });

/**
 * Compiles an `allowed_origins` list into a set of exact origins and wildcard suffixes.
 *
 * @param rules - Origin rules; an empty list allows any origin.
 * @returns The compiled list for {@link isOriginAllowed}.
 * @throws {TypeError} When a rule is invalid (the admin API validates before storing).
 */
export function compileOriginAllowlist(rules: readonly string[]): OriginAllowlist {
  if (rules.length === 0) return NO_ORIGIN_RULES;
  const exact = new Set<string>();
  const wildcards: WildcardOrigin[] = [];
  for (const rule of rules) {
    const parsed = requireOriginRule(rule);
    if (parsed.wildcard) wildcards.push({ scheme: parsed.scheme, suffix: `.${parsed.host}`, port: parsed.port });
    else exact.add(formatOrigin(parsed));
  }
  return { exact, wildcards };
}

/**
 * Whether a request with this `Origin` header may use a key with this Origin allowlist.
 *
 * @param list - The key's compiled allowlist.
 * @param requestOrigin - The `Origin` header value.
 * @returns `true` for an empty list or a request without `Origin` (undefined, null or empty:
 *   server to server); otherwise `true` only when the canonical origin is listed or matches a
 *   wildcard with the same scheme and port. `Origin: null` and unparseable values are denied.
 */
export function isOriginAllowed(list: OriginAllowlist, requestOrigin: string | null | undefined): boolean {
  if (list.exact.size === 0 && list.wildcards.length === 0) return true;
  if (!requestOrigin) return true;
  const origin = parseOrigin(requestOrigin, false);
  if (typeof origin === "string") return false;
  if (list.exact.has(formatOrigin(origin))) return true;
  return list.wildcards.some(
    ({ scheme, suffix, port }) =>
      scheme === origin.scheme && port === origin.port && isOneLabelUnder(origin.host, suffix),
  );
}

/**
 * Whether every origin `rule` admits is also admitted by `list`.
 *
 * @param list - The compiled allowlist of the key granting.
 * @param rule - A valid origin rule; a wildcard is within `list` only if `list` has the same one.
 * @returns `true` for an empty list (any origin).
 */
export function isOriginRuleWithin(list: OriginAllowlist, rule: string): boolean {
  if (list.exact.size === 0 && list.wildcards.length === 0) return true;
  const parsed = requireOriginRule(rule);
  if (!parsed.wildcard) return isOriginAllowed(list, formatOrigin(parsed));
  return list.wildcards.some(
    ({ scheme, suffix, port }) => scheme === parsed.scheme && port === parsed.port && suffix === `.${parsed.host}`,
  );
}
