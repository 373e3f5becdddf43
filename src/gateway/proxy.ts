/**
 * @module
 * Forwarding an allowed request to the origin (SPEC §6): credentials, client-sent `x-keygate-*`
 * headers (and their underscore twins) and method overrides are stripped, the trusted identity and
 * its signature added, and the request and response bodies streamed through (a signed body up to
 * ORIGIN_DIGEST_MAX_BYTES is read first, for its digest). Without an origin, ECHO answers with
 * what would have been forwarded.
 */
import type { Config } from "../env";
import { KeygateError } from "../errors";
import { IDENTITY_HEADERS, KEYGATE_HEADER_PREFIX, type KeygateIdentity } from "../origin/identity";
import { CONTENT_DIGEST_HEADER } from "../origin/content-digest";
import { signKeygateRequest } from "../origin/signature";
import { hasBearer, withoutCookies } from "../http/read-credential";
import { type OutgoingBody, readBodyForSignature } from "./signed-body";
import { wait } from "../core/wait";

/** The matched path and its query string (`""` or `?…`), as they go to the origin. */
export interface ProxyTarget {
  path: string;
  search: string;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]);
const BODYLESS_METHODS = new Set(["GET", "HEAD"]);
/**
 * Headers Keygate removes by name (compared in {@link cgiHeaderName} form, like the rest). A
 * client's own x-request-id is kept in the audit event only; the origin gets Keygate's id.
 */
const REMOVED_HEADERS = new Set(["host", "x-api-key", "x-request-id"]);
// The check ran on the real method; an origin honouring one of these would run another.
const METHOD_OVERRIDE_HEADERS = new Set(["x-http-method-override", "x-http-method", "x-method-override"]);
// Echo resolves the target like an origin at the root would, so it shows the exact forwarded path.
const ECHO_BASE = new URL("http://echo.invalid");

// The identity's fields with their header names, listed once rather than walked per request.
const IDENTITY_FIELDS = Object.entries(IDENTITY_HEADERS) as [keyof KeygateIdentity, string][];

/**
 * Sets the `x-keygate-*` headers that tell the origin who is calling; empty values are left out.
 * @example
 * ```ts
 * setIdentityHeaders(headers, { caller: "api_key", keyId: "key_1", scopes: ["a:b", "c:d"], requestId: "r" });
 * // x-keygate-caller: api_key, x-keygate-key-id: key_1, x-keygate-scopes: a:b c:d,
 * // x-keygate-request-id: r
 * ```
 */
export function setIdentityHeaders(headers: Headers, identity: KeygateIdentity): void {
  for (const [field, name] of IDENTITY_FIELDS) {
    const value = field === "scopes" ? identity.scopes.join(" ") : identity[field];
    if (value) headers.set(name, value);
  }
}

/**
 * A header name as CGI-style origins (WSGI, Rack, PHP) read it: they turn `-` into `_`, so
 * `x_keygate_org_id` and `x-keygate-org-id` both become `HTTP_X_KEYGATE_ORG_ID`, one value.
 * @example cgiHeaderName("X-Keygate_Org-Id"); // "x-keygate-org-id"
 */
function cgiHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes("_") ? lower.replaceAll("_", "-") : lower;
}

// The policy's locator set lives as long as its compiled policy: compute its CGI forms once.
const cgiNames = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

function cgiNamesOf(names: ReadonlySet<string>): ReadonlySet<string> {
  let forms = cgiNames.get(names);
  if (!forms) {
    forms = new Set([...names].map(cgiHeaderName));
    cgiNames.set(names, forms);
  }
  return forms;
}

/**
 * Sends an allowed request to the origin and returns its response as is (redirects not followed,
 * hop-by-hop headers removed); with no origin and ECHO on, returns
 * `{ echo: true, method, path, query, headers }` describing what would be sent. The origin is the
 * `ORIGIN_SERVICE` binding when set, at `ORIGIN_URL` + `target` (or, without ORIGIN_URL, the
 * request's own origin + `target`, so the origin Worker sees the URL the client called); else
 * `ORIGIN_URL` + `target` over the network.
 * The timeout covers the wait for the response headers, not a long streamed body.
 * @throws KeygateError `GATEWAY_TIMEOUT` "origin timeout" when the origin does not answer within
 *   `config.originTimeoutMs`; `BAD_GATEWAY` "origin unreachable" when it cannot be reached or no
 *   origin is configured; `BAD_REQUEST` when the path would escape ORIGIN_URL's base path.
 * @param headerLocators - The policy's `{header}` project locators (lowercase): each passes as is,
 *   a differently spelt twin of it (`x_project_id` for `x-project-id`) is dropped.
 */
export async function forwardToOrigin(
  request: Request,
  target: ProxyTarget,
  identity: KeygateIdentity,
  config: Config,
  headerLocators: ReadonlySet<string>,
): Promise<Response> {
  const origin = originOf(request, config);
  if (!origin) throw new KeygateError("BAD_GATEWAY", "origin unreachable");
  const url = joinOriginUrl(origin.base, target);
  const headers = outgoingHeaders(request, identity, config, headerLocators);
  const body = await signRequest(request, url, identity, config, headers);
  return origin.fetcher
    ? fetchOrigin(origin.fetcher, request.method, url, headers, body, config.originTimeoutMs)
    : echo(request.method, url, headers);
}

/** Where the request goes: a fetcher (the service binding or the network) and the URL base, or echo. */
function originOf(request: Request, config: Config): { fetcher?: Pick<Fetcher, "fetch">; base: URL } | undefined {
  if (config.originService) return { fetcher: config.originService, base: config.originUrl ?? new URL(new URL(request.url).origin) };
  if (config.originUrl) return { fetcher: { fetch: (input, init) => fetch(input, init) }, base: config.originUrl };
  return config.echo ? { base: ECHO_BASE } : undefined;
}

function joinOriginUrl(base: URL, target: ProxyTarget): URL {
  const basePath = base.pathname.replace(/\/+$/, "");
  const url = new URL(base);
  // Assigned, not resolved against the base: a target such as `//evil.example/x` must stay a path.
  url.pathname = basePath + target.path;
  url.search = target.search;
  url.hash = "";
  if (!url.pathname.startsWith(`${basePath}/`)) {
    throw KeygateError.badRequest([{ path: "path", message: "escapes the origin's base path" }]);
  }
  return url;
}

/**
 * The headers the origin gets: a copy of the request's (one native call) less what Keygate removes,
 * plus the identity headers. A request carries few of the removed headers, so deleting them costs
 * less than appending every kept header one by one.
 */
function outgoingHeaders(request: Request, identity: KeygateIdentity, config: Config, headerLocators: ReadonlySet<string>): Headers {
  const incoming = request.headers;
  const connectionListed = connectionTokens(incoming.get("connection"));
  const locatorTwins = cgiNamesOf(headerLocators);
  const headers = new Headers(incoming);
  for (const name of incoming.keys()) {
    if (isHopByHop(name, connectionListed)) {
      headers.delete(name);
      continue;
    }
    const cgiName = cgiHeaderName(name);
    if (
      REMOVED_HEADERS.has(cgiName) ||
      cgiName.startsWith(KEYGATE_HEADER_PREFIX) ||
      METHOD_OVERRIDE_HEADERS.has(cgiName) ||
      (locatorTwins.has(cgiName) && !headerLocators.has(name))
    ) {
      headers.delete(name);
    }
  }
  // Two Authorization headers arrive comma-joined; a Bearer among them is still Keygate's credential.
  const authorization = incoming.get("authorization");
  if (authorization !== null && hasBearer(authorization)) headers.delete("authorization");
  // Read from the copy: a Cookie header the loop removed (listed in Connection) stays removed.
  const cookie = headers.get("cookie");
  if (cookie !== null) {
    const kept = withoutCookies(cookie, config.strippedCookieNames);
    if (kept) headers.set("cookie", kept);
    else headers.delete("cookie");
  }
  setIdentityHeaders(headers, identity);
  return headers;
}

/**
 * With ORIGIN_SECRET, adds the timestamp, `content-digest` and the v1 + v2 signature to `headers`
 * (v1 only for a body over ORIGIN_DIGEST_MAX_BYTES, which is streamed undigested); returns the body
 * to send. A client's own `content-digest` never reaches a signing origin: it would look signed.
 */
async function signRequest(request: Request, url: URL, identity: KeygateIdentity, config: Config, headers: Headers): Promise<OutgoingBody> {
  const [secret] = config.originSecrets;
  if (!secret) return { body: BODYLESS_METHODS.has(request.method) ? null : request.body, contentDigest: undefined };
  const body = await readBodyForSignature(request, config.originDigestMaxBytes);
  headers.delete(CONTENT_DIGEST_HEADER);
  if (body.contentDigest) headers.set(CONTENT_DIGEST_HEADER, body.contentDigest);
  const signature = await signKeygateRequest(secret, {
    timestamp: Math.floor(Date.now() / 1000),
    method: request.method,
    pathAndQuery: url.pathname + url.search,
    identity,
    v2: body.contentDigest === undefined ? undefined : { host: url.host, requestId: identity.requestId, contentDigest: body.contentDigest },
  });
  for (const [name, value] of Object.entries(signature)) headers.set(name, value);
  return body;
}

async function fetchOrigin(
  fetcher: Pick<Fetcher, "fetch">,
  method: string,
  url: URL,
  headers: Headers,
  { body }: OutgoingBody,
  timeoutMs: number,
): Promise<Response> {
  const controller = new AbortController();
  let answered = false;
  // An uncancellable wait (the cheap timer): once the headers came it does nothing, and the
  // request's timers end with it.
  void wait(timeoutMs).then(() => {
    if (!answered) controller.abort();
  });
  let response: Response;
  try {
    response = await fetcher.fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch {
    // The cause may name the origin's address; the client only learns which of the two it was.
    throw controller.signal.aborted
      ? new KeygateError("GATEWAY_TIMEOUT", "origin timeout")
      : new KeygateError("BAD_GATEWAY", "origin unreachable");
  } finally {
    answered = true;
  }
  const proxied = new Response(response.body, response);
  removeHopByHop(proxied.headers);
  return proxied;
}

function echo(method: string, url: URL, headers: Headers): Response {
  return Response.json({
    echo: true,
    method,
    path: url.pathname,
    query: url.search.slice(1),
    headers: Object.fromEntries(headers),
  });
}

function removeHopByHop(headers: Headers): void {
  const listed = connectionTokens(headers.get("connection"));
  for (const name of [...headers.keys()]) {
    if (isHopByHop(name, listed)) headers.delete(name);
  }
}

/** The header names a `Connection` value lists (lowercase). */
function connectionTokens(connection: string | null): readonly string[] {
  return connection === null ? [] : connection.split(",").map((token) => token.trim().toLowerCase());
}

function isHopByHop(name: string, connectionListed: readonly string[]): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith("proxy-") || connectionListed.includes(name);
}
