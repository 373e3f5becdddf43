/**
 * @module
 * The request signature of SPEC §6: Keygate signs what it forwards, origins verify it.
 * Only web-standard APIs (crypto.subtle, TextEncoder, streams, Request, Headers), so the same file
 * runs in Workers, Node 20+, Bun and Deno.
 *
 * `v1` covers the timestamp, method, path and query and the identity. `v2` (sent beside it, one
 * header `x-keygate-signature: v1=<hex>, v2=<hex>`) also covers the host, the request id and the
 * body's `content-digest`, so a captured request cannot be replayed against another host, with
 * another body, or (with a replay store) at all.
 *
 * @example
 * ```ts
 * const result = await verifyKeygateSignature(request, env.ORIGIN_SECRET.split(","), { replayStore });
 * if (!result.ok) return new Response(null, { status: 401 });
 * const { orgId, scopes } = result.identity;
 * const body = await result.request.json(); // rejects if the body does not match its digest
 * ```
 */
import { CONTENT_DIGEST_HEADER, equalBytes, parseContentDigest, verifyingDigest } from "./content-digest.js";
import { IDENTITY_HEADERS, isCaller, type KeygateIdentity } from "./identity.js";
import type { ReplayStore } from "./replay.js";
import { Sha256 } from "./sha256-stream.js";

export const TIMESTAMP_HEADER = "x-keygate-timestamp";
export const SIGNATURE_HEADER = "x-keygate-signature";

const DEFAULT_TOLERANCE_SECONDS = 300;
const SIGNATURE_ENTRY = /^(v\d+)=([0-9a-f]{64})$/i;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

/** The identity fields the signature covers (all but the request id), in base-string order. */
const SIGNED_HEADERS = [
  IDENTITY_HEADERS.caller,
  IDENTITY_HEADERS.keyId,
  IDENTITY_HEADERS.orgId,
  IDENTITY_HEADERS.projectId,
  IDENTITY_HEADERS.scopes,
  IDENTITY_HEADERS.userId,
] as const;

/** What a signature covers. */
export interface SignatureInput {
  /** Unix seconds. */
  timestamp: number;
  method: string;
  /** The path plus `?query` when there is a query, exactly as the origin receives it. */
  pathAndQuery: string;
  identity: Omit<KeygateIdentity, "requestId">;
  /** What v2 adds; without it only v1 is produced. */
  v2?: SignatureV2Fields;
}

export interface SignatureV2Fields {
  /** The `host` of the URL the origin receives (with a non-default port). */
  host: string;
  requestId: string;
  /** The `content-digest` header value sent with the body. */
  contentDigest: string;
}

/** The two headers that authenticate a forwarded request. */
export type SignatureHeaders = Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string>;

export interface VerifyOptions {
  /** How far the timestamp may be from `now`, either way. Default 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: the clock. */
  now?: number;
  /**
   * Refuses a request id seen before (reason `replayed`). Only v2 signs the request id, so with a
   * store a v1-only signature is refused (`bad_signature`).
   */
  replayStore?: ReplayStore;
  /** Refuse v1-only signatures (once every gateway sends v2). Default false. */
  requireV2?: boolean;
}

export type VerifyResult =
  | {
      ok: true;
      identity: KeygateIdentity;
      version: "v1" | "v2";
      /**
       * The request to read the body from. For v2 its body is checked against `content-digest`
       * while it streams: reading it errors (`request.json()` rejects) instead of ending when the
       * body is not the one Keygate signed. For v1 it is the request as given.
       */
      request: Request;
    }
  | { ok: false; reason: "missing" | "stale" | "bad_signature" | "replayed" | "digest_mismatch" };

/** Thrown into a v2 request's body stream when the body does not match its signed digest. */
export class ContentDigestMismatchError extends Error {
  constructor() {
    super("the request body does not match its signed content-digest");
    this.name = "ContentDigestMismatchError";
  }
}

/**
 * The v1 string that is signed:
 * `v1\n<timestamp>\n<METHOD>\n<path?query>\n<caller>\n<key-id>\n<org-id>\n<project-id>\n<scopes>\n<user-id>`,
 * missing values as empty strings and scopes space separated.
 */
export function signatureBase({ timestamp, method, pathAndQuery, identity }: SignatureInput): string {
  return joinBase(["v1", String(timestamp), method.toUpperCase(), pathAndQuery], identityFields(identity));
}

/**
 * The v2 string that is signed:
 * `v2\n<timestamp>\n<METHOD>\n<host>\n<path?query>\n<request-id>\n<content-digest>\n` followed by
 * v1's identity fields.
 */
export function signatureBaseV2(input: SignatureInput & { v2: SignatureV2Fields }): string {
  const { timestamp, method, pathAndQuery, identity, v2 } = input;
  const head = ["v2", String(timestamp), method.toUpperCase(), v2.host, pathAndQuery, v2.requestId, v2.contentDigest];
  return joinBase(head, identityFields(identity));
}

/**
 * Signs a request for the origin.
 * @param secret - The shared ORIGIN_SECRET (during rotation, the new one).
 * @returns The `x-keygate-timestamp` and `x-keygate-signature` header values (`v1=<hex>`, plus
 *   `, v2=<hex>` when `input.v2` is given).
 */
export async function signKeygateRequest(secret: string, input: SignatureInput): Promise<SignatureHeaders> {
  const key = await hmacKey(secret);
  const sign = async (base: string) => toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(base))));
  const entries = [`v1=${await sign(signatureBase(input))}`];
  if (input.v2) entries.push(`v2=${await sign(signatureBaseV2({ ...input, v2: input.v2 }))}`);
  return { [TIMESTAMP_HEADER]: String(input.timestamp), [SIGNATURE_HEADER]: entries.join(", ") };
}

/**
 * Checks that `request` came through Keygate and returns the identity it carries.
 * A v2 signature is checked when present (a failing v2 is never retried as v1); otherwise v1.
 * MACs are checked with `crypto.subtle.verify` and digests compared in constant time; any of
 * `secret` is accepted, so an origin can hold the old and the new secret during a rotation. The
 * replay store is asked last, so a request that fails any other check never uses up its id.
 * @param request - As the origin received it: its URL (host, path and query), method, `x-keygate-*`
 *   and `content-digest` headers and body.
 * @param secret - One secret or several (rotation).
 * @returns The identity and the request to read the body from (see {@link VerifyResult}), or why
 *   the request is not trusted: `missing` (no signature headers), `stale` (timestamp outside
 *   ±`toleranceSeconds`), `replayed` (the store has seen the request id), `digest_mismatch` (a
 *   bodyless request whose signed digest is not that of empty input), `bad_signature` (anything else).
 * @throws TypeError when no non-empty secret is given.
 */
export async function verifyKeygateSignature(
  request: Request,
  secret: string | readonly string[],
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const secrets = (typeof secret === "string" ? [secret] : secret).filter((s) => s !== "");
  if (secrets.length === 0) throw new TypeError("verifyKeygateSignature needs a non-empty secret");

  const { headers } = request;
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (timestamp === null || signature === null) return { ok: false, reason: "missing" };
  const macs = parseSignatures(signature);
  if (!macs || !TIMESTAMP_PATTERN.test(timestamp)) return { ok: false, reason: "bad_signature" };

  const url = new URL(request.url);
  const method = request.method.toUpperCase();
  const pathAndQuery = url.pathname + url.search;
  const fields = SIGNED_HEADERS.map((name) => headers.get(name) ?? "");
  const requestId = headers.get(IDENTITY_HEADERS.requestId) ?? "";
  const contentDigest = headers.get(CONTENT_DIGEST_HEADER) ?? "";
  const v2 = macs.get("v2");
  const digest = parseContentDigest(contentDigest);

  // The base is rebuilt from the raw header values, so it matches byte for byte what was signed.
  let version: "v1" | "v2";
  if (v2 !== undefined) {
    if (!digest) return { ok: false, reason: "bad_signature" };
    const base = joinBase(["v2", timestamp, method, url.host, pathAndQuery, requestId, contentDigest], fields);
    if (!(await verifiesWithAny(secrets, v2, base))) return { ok: false, reason: "bad_signature" };
    version = "v2";
  } else {
    const v1 = macs.get("v1");
    if (v1 === undefined || options.requireV2 || options.replayStore) return { ok: false, reason: "bad_signature" };
    if (!(await verifiesWithAny(secrets, v1, joinBase(["v1", timestamp, method, pathAndQuery], fields)))) {
      return { ok: false, reason: "bad_signature" };
    }
    version = "v1";
  }

  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: "stale" };

  const identity = readIdentity(headers);
  if (!identity) return { ok: false, reason: "bad_signature" };
  if (version === "v1" || !digest) return { ok: true, identity, version, request };

  if (request.body === null && !equalBytes(new Sha256().digest(), digest)) return { ok: false, reason: "digest_mismatch" };
  if (options.replayStore) {
    if (requestId === "") return { ok: false, reason: "bad_signature" };
    if (!(await options.replayStore.claim(requestId, Number(timestamp) + tolerance))) return { ok: false, reason: "replayed" };
  }
  return { ok: true, identity, version, request: withVerifiedBody(request, digest) };
}

/** `v1=<hex>, v2=<hex>` as a map; unknown versions are skipped, malformed or repeated entries refused. */
function parseSignatures(header: string): Map<string, Uint8Array> | undefined {
  const macs = new Map<string, Uint8Array>();
  for (const entry of header.split(",")) {
    const match = SIGNATURE_ENTRY.exec(entry.trim());
    if (!match) return undefined;
    const version = match[1]!.toLowerCase();
    if (macs.has(version)) return undefined;
    macs.set(version, fromHex(match[2]!));
  }
  return macs;
}

function withVerifiedBody(request: Request, digest: Uint8Array): Request {
  if (request.body === null) return request;
  const body = verifyingDigest(request.body, digest, () => new ContentDigestMismatchError());
  // `duplex` is required by Node's fetch for a streaming body and ignored elsewhere.
  const init = { method: request.method, headers: request.headers, body, duplex: "half", signal: request.signal };
  return new Request(request.url, init as RequestInit);
}

function identityFields(identity: Omit<KeygateIdentity, "requestId">): string[] {
  return [
    identity.caller ?? "",
    identity.keyId ?? "",
    identity.orgId ?? "",
    identity.projectId ?? "",
    identity.scopes.join(" "),
    identity.userId ?? "",
  ];
}

function joinBase(head: readonly string[], fields: readonly string[]): string {
  return [...head, ...fields].join("\n");
}

async function verifiesWithAny(secrets: readonly string[], mac: Uint8Array, base: string): Promise<boolean> {
  const data = encoder.encode(base);
  for (const secret of secrets) {
    if (await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, data)) return true;
  }
  return false;
}

function readIdentity(headers: Headers): KeygateIdentity | undefined {
  const optional = (name: string) => headers.get(name) || undefined;
  const caller = optional(IDENTITY_HEADERS.caller);
  if (caller !== undefined && !isCaller(caller)) return undefined;
  return {
    caller,
    keyId: optional(IDENTITY_HEADERS.keyId),
    orgId: optional(IDENTITY_HEADERS.orgId),
    projectId: optional(IDENTITY_HEADERS.projectId),
    scopes: (headers.get(IDENTITY_HEADERS.scopes) ?? "").split(" ").filter((s) => s !== ""),
    userId: optional(IDENTITY_HEADERS.userId),
    requestId: headers.get(IDENTITY_HEADERS.requestId) ?? "",
  };
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
