// The HTTP side of the CLI: OAuth form posts, the admin API with whichever credential applies,
// and the automatic refresh of a saved login's access token.
import { loadCredentials, saveCredentials } from "./config.mjs";

export const DEFAULT_URL = "http://localhost:8787";
export const DEFAULT_CLIENT_ID = "keygate-cli";
/** Refresh a little before the access token's expiry, so it does not expire in flight. */
const REFRESH_MARGIN_MS = 30_000;

/** A refused call: the API's `{ ok: false, code, message, details }` or an OAuth `{ error }`. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(`${code}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.apiMessage = message;
    this.details = details;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor(url, cause) {
    super(`cannot reach ${url}: ${describeCause(cause)}`);
    this.name = "NetworkError";
  }
}

/** Anything the user must fix (not logged in, a bad flag value): printed as is. */
export class UsageError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.name = "UsageError";
    this.exitCode = exitCode;
  }
}

function describeCause(error) {
  const cause = error?.cause ?? error;
  if (cause?.code === "ECONNREFUSED") return "connection refused (is the Worker running?)";
  if (cause?.code === "ENOTFOUND") return "host not found";
  if (error?.name === "TimeoutError" || cause?.name === "TimeoutError") return "timed out";
  return cause?.message ?? String(cause);
}

/** `https://gw.example.com/` and `https://gw.example.com` are the same Keygate. */
export function normalizeUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an absolute http(s) URL, got "${url}"`, 2);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--url must be http(s), got "${url}"`, 2);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

/** The Keygate URL: --url, else the saved login's, else $KEYGATE_URL, else localhost:8787. */
export function resolveUrl(flag, saved, env) {
  return normalizeUrl(flag || saved?.url || env.KEYGATE_URL || DEFAULT_URL);
}

async function send(fetchImpl, url, init) {
  try {
    return await fetchImpl(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new NetworkError(new URL(url).origin, error);
  }
}

async function readJson(response) {
  const text = await response.text();
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return { __text: text.slice(0, 200) };
  }
}

/** An ApiError for a failed response body (either shape). */
function errorOf(response, body) {
  if (body && typeof body.error === "string") {
    return new ApiError(response.status, body.error, body.error_description ?? body.error, undefined);
  }
  if (body && typeof body.code === "string") return new ApiError(response.status, body.code, body.message ?? "", body.details);
  const text = body?.__text ? `: ${body.__text}` : "";
  return new ApiError(response.status, `HTTP_${response.status}`, `unexpected response${text}`, undefined);
}

/** POSTs an OAuth form; resolves `{ status, body }` without throwing on OAuth errors. */
export async function oauthForm(fetchImpl, baseUrl, path, params) {
  const form = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const response = await send(fetchImpl, `${baseUrl}/_keygate/oauth${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form.toString(),
  });
  return { status: response.status, body: await readJson(response), response };
}

/** Saved-login fields from a token response. */
export function credentialsFromTokens(url, clientId, tokens, now = Date.now()) {
  return {
    url,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: new Date(now + Number(tokens.expires_in ?? 3600) * 1000).toISOString(),
    scope: tokens.scope ?? "",
    org_id: tokens.org_id ?? null,
    project_id: tokens.project_id ?? null,
    client_id: clientId,
  };
}

/**
 * The credential for admin calls, in this order: --api-key, $KEYGATE_API_KEY (x-api-key),
 * $KEYGATE_ADMIN_TOKEN (Bearer), else the saved login if it is for the same URL.
 */
export function pickAuth({ apiKey, env, saved, url }) {
  if (apiKey) return { kind: "api_key", value: apiKey };
  if (env.KEYGATE_API_KEY) return { kind: "api_key", value: env.KEYGATE_API_KEY };
  if (env.KEYGATE_ADMIN_TOKEN) return { kind: "admin", value: env.KEYGATE_ADMIN_TOKEN };
  if (saved && normalizeUrl(saved.url) === url) return { kind: "oauth", saved };
  return null;
}

/**
 * A client for one Keygate URL. `auth` comes from pickAuth; a saved login is refreshed when it has
 * expired, or once after a 401, and the rotated pair is saved.
 */
export function createClient({ url, auth, env = process.env, fetch: fetchImpl = globalThis.fetch, now = Date.now }) {
  let refreshed = false;

  async function refresh() {
    const saved = auth.saved;
    if (!saved.refresh_token) throw new UsageError("your login has expired; run keygate login");
    refreshed = true;
    const clientId = saved.client_id || DEFAULT_CLIENT_ID;
    const { status, body } = await oauthForm(fetchImpl, url, "/token", {
      grant_type: "refresh_token",
      refresh_token: saved.refresh_token,
      client_id: clientId,
    });
    if (status !== 200 || !body?.access_token) {
      if (body?.error === "invalid_grant") throw new UsageError("your login has expired or was revoked; run keygate login");
      throw errorOf({ status }, body);
    }
    auth.saved = { ...saved, ...credentialsFromTokens(saved.url, clientId, body, now()) };
    await saveCredentials(auth.saved, env);
  }

  function headers(extra) {
    const h = { accept: "application/json", ...extra };
    if (!auth) return h;
    if (auth.kind === "api_key") h["x-api-key"] = auth.value;
    else if (auth.kind === "admin") h.authorization = `Bearer ${auth.value}`;
    else h.authorization = `Bearer ${auth.saved.access_token}`;
    return h;
  }

  /**
   * One call; returns the Response (ok), throws ApiError / NetworkError otherwise.
   * @param {string} method
   * @param {string} path
   * @param {{ query?: Record<string, unknown>, body?: unknown, accept?: string }} [options]
   */
  async function raw(method, path, { query, body, accept } = {}) {
    if (!auth) throw new UsageError("not logged in: run keygate login, or set KEYGATE_API_KEY / KEYGATE_ADMIN_TOKEN (or pass --api-key)");
    if (auth.kind === "oauth" && !refreshed && Date.parse(auth.saved.expires_at) - REFRESH_MARGIN_MS <= now()) await refresh();
    const target = new URL(`${url}${path}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, String(value));
    }
    const init = () => ({
      method,
      headers: headers({ ...(body !== undefined && { "content-type": "application/json" }), ...(accept && { accept }) }),
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    let response = await send(fetchImpl, target.href, init());
    if (response.status === 401 && auth.kind === "oauth" && !refreshed) {
      await response.body?.cancel();
      await refresh();
      response = await send(fetchImpl, target.href, init());
    }
    if (!response.ok) throw errorOf(response, await readJson(response));
    return response;
  }

  /** One call answering `{ ok: true, data }`; returns the whole body. */
  async function json(method, path, options) {
    const response = await raw(method, path, options);
    const parsed = await readJson(response);
    if (!parsed || parsed.ok === false) throw errorOf(response, parsed);
    return parsed;
  }

  return { url, auth, raw, json };
}
