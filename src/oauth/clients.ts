/**
 * @module
 * Who a client of the authorization-code flow is. Two kinds, both public clients (no secret; PKCE
 * protects the code):
 *
 * - **Registered** at `/oauth/register` (RFC 7591): a `kgc_…` id and its redirect URIs in D1.
 * - **Client ID metadata documents**: the `client_id` is an https URL, and the JSON document at it
 *   is the client's metadata (its `client_id` must be that URL). Fetched with care for SSRF: https
 *   only (http on loopback only while the Worker itself runs on loopback, i.e. local development and
 *   tests), no credentials or fragment in the URL, no IP literals or other names of loopback
 *   (`*.localhost`, a trailing dot), no redirects, at most
 *   {@link MAX_DOCUMENT_BYTES} within {@link FETCH_TIMEOUT_MS}; cached like keys (KEY_CACHE_TTL_S),
 *   a failed fetch remembered briefly as an unknown client.
 *
 * Redirect URIs are https, or http on a loopback host; a loopback redirect URI matches whatever
 * port the client uses at the time (RFC 8252 §7.3).
 */
import { z } from "zod";
import { TieredCache, type CacheContext } from "../cache/tiered";
import { findClient, insertClient } from "../db/oauth-clients";
import { readDb } from "../db/session";
import type { Bindings } from "../env";
import { newId } from "../core/ids";
import { ClientMetadataDocumentSchema, type ClientMetadata } from "../schemas/oauth";
import { OAuthError } from "./errors";

const MAX_DOCUMENT_BYTES = 5 * 1024;
const FETCH_TIMEOUT_MS = 5_000;

const SUPPORTED_GRANTS: ReadonlySet<string> = new Set(["authorization_code", "refresh_token"]);
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** A client as the authorization endpoint sees it (and KV holds); `name` is `null` when it gave none. */
const OAuthClientSchema = z.object({ clientId: z.string(), name: z.string().nullable(), redirectUris: z.array(z.string()) });
export type OAuthClient = z.infer<typeof OAuthClientSchema>;

/** RFC 7591 §3.2.1. */
export interface RegistrationResponse {
  client_id: string;
  client_id_issued_at: number;
  client_name?: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: ["code"];
  token_endpoint_auth_method: "none";
}

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Names that resolvers answer with a loopback address although they are not spelled as one:
 * `*.localhost` (RFC 6761 §6.3) and fully qualified names with their trailing dot (`localhost.`).
 */
function isLocalName(hostname: string): boolean {
  return hostname.endsWith(".") || hostname.endsWith(".localhost");
}

/** Whether `raw` may be a redirect URI: https, or http on a loopback host; no fragment. */
function isValidRedirectUri(raw: string): boolean {
  if (!URL.canParse(raw) || raw.includes("#")) return false;
  const url = new URL(raw);
  if (url.username !== "" || url.password !== "") return false;
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Whether `redirectUri` is one of the client's: exactly, or a loopback one on another port. */
export function isRedirectUriOf(client: OAuthClient, redirectUri: string): boolean {
  if (client.redirectUris.includes(redirectUri)) return true;
  if (!isValidRedirectUri(redirectUri)) return false;
  const asked = new URL(redirectUri);
  if (asked.protocol !== "http:" || !isLoopbackHost(asked.hostname)) return false;
  return client.redirectUris.some((registered) => {
    const known = new URL(registered);
    return known.protocol === "http:" && known.hostname === asked.hostname && known.pathname === asked.pathname && known.search === asked.search;
  });
}

/**
 * The checked metadata of a registration or a metadata document.
 * @throws {OAuthError} `invalid_redirect_uri`, `invalid_client_metadata`.
 */
function checkMetadata(metadata: ClientMetadata): { redirectUris: string[]; grantTypes: string[]; name: string | null } {
  const bad = metadata.redirect_uris.filter((uri) => !isValidRedirectUri(uri));
  if (bad.length > 0) throw new OAuthError("invalid_redirect_uri", `redirect URIs must be https, or http on a loopback host, without fragment: ${bad.join(" ").slice(0, 500)}`);
  if (metadata.token_endpoint_auth_method !== undefined && metadata.token_endpoint_auth_method !== "none") {
    throw new OAuthError("invalid_client_metadata", 'token_endpoint_auth_method must be "none": Keygate has public clients only (PKCE)');
  }
  const grantTypes = metadata.grant_types ?? ["authorization_code", "refresh_token"];
  const unsupported = grantTypes.filter((grant) => !SUPPORTED_GRANTS.has(grant));
  if (unsupported.length > 0) throw new OAuthError("invalid_client_metadata", `unsupported grant_types: ${unsupported.join(" ").slice(0, 500)}`);
  if (metadata.response_types !== undefined && metadata.response_types.some((type) => type !== "code")) {
    throw new OAuthError("invalid_client_metadata", 'response_types may only be ["code"]');
  }
  return { redirectUris: [...new Set(metadata.redirect_uris)], grantTypes: [...new Set(grantTypes)], name: metadata.client_name ?? null };
}

/**
 * Registers a public client (RFC 7591).
 * @throws {OAuthError} `invalid_redirect_uri`, `invalid_client_metadata`.
 */
export async function registerClient(db: D1Database, metadata: ClientMetadata, now: number): Promise<RegistrationResponse> {
  const { redirectUris, grantTypes, name } = checkMetadata(metadata);
  const id = newId("kgc", now);
  await insertClient(db, { id, client_name: name, redirect_uris: redirectUris, grant_types: grantTypes, created_at: new Date(now).toISOString() });
  return {
    client_id: id,
    client_id_issued_at: Math.floor(now / 1000),
    ...(name !== null && { client_name: name }),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
}

const clientCache = new TieredCache<OAuthClient, OAuthClient>({
  namespace: "oauth-client",
  maxEntries: 1_000,
  schema: OAuthClientSchema,
  compile: (client) => client,
});

/**
 * The client `clientId` names, `null` when it is neither registered nor a usable metadata document.
 * @param workerUrl - This request's URL: on a loopback Worker, http loopback documents are allowed.
 * @throws {KeygateError} `UNAVAILABLE` when D1 is down and nothing is cached.
 */
export async function resolveClient(ctx: CacheContext, env: Bindings, clientId: string, workerUrl: URL): Promise<OAuthClient | null> {
  if (clientId.startsWith("kgc_")) {
    return clientCache.get(ctx, clientId, async () => {
      const row = await findClient(readDb(env), clientId);
      return row && { clientId: row.id, name: row.client_name, redirectUris: row.redirect_uris };
    });
  }
  const documentUrl = metadataDocumentUrl(clientId, isLoopbackHost(workerUrl.hostname));
  if (documentUrl === null) return null;
  return clientCache.get(ctx, clientId, () => fetchMetadataDocument(clientId, documentUrl));
}

/** The URL a client id names as its metadata document, `null` when it may not be fetched. */
function metadataDocumentUrl(clientId: string, allowLoopbackHttp: boolean): URL | null {
  if (!URL.canParse(clientId) || clientId.includes("#")) return null;
  const url = new URL(clientId);
  if (url.username !== "" || url.password !== "" || url.pathname === "/") return null;
  // Dot segments would make the id and the fetched URL differ.
  if (url.href !== clientId) return null;
  const loopback = isLoopbackHost(url.hostname);
  if (loopback) return allowLoopbackHttp ? url : null;
  if (url.protocol !== "https:" || isLocalName(url.hostname)) return null;
  const ipLiteral = url.hostname.startsWith("[") || /^\d+(?:\.\d+){3}$/.test(url.hostname);
  return ipLiteral ? null : url;
}

async function fetchMetadataDocument(clientId: string, url: URL): Promise<OAuthClient | null> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch {
    return null;
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    return null;
  }
  const text = await readLimited(response.body, MAX_DOCUMENT_BYTES);
  if (text === null) return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = ClientMetadataDocumentSchema.safeParse(body);
  if (!parsed.success || parsed.data.client_id !== clientId) return null;
  try {
    const { redirectUris, name } = checkMetadata(parsed.data);
    return { clientId, name, redirectUris };
  } catch {
    return null;
  }
}

/** The stream as UTF-8 text, `null` (and the stream cancelled) past `maxBytes` or on a read error. */
async function readLimited(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<string | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  } catch {
    return null;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
