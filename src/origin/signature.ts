/**
 * @module
 * The request signature of SPEC §6: Keygate signs what it forwards, origins verify it.
 * Only web-standard APIs (crypto.subtle, TextEncoder, Request, Headers), so the same file runs in
 * Workers, Node 18+, Bun and Deno.
 *
 * @example
 * ```ts
 * const result = await verifyKeygateSignature(request, env.ORIGIN_SECRET.split(","));
 * if (!result.ok) return new Response(null, { status: 401 });
 * const { orgId, scopes } = result.identity;
 * ```
 */
import { IDENTITY_HEADERS, isCaller, type KeygateIdentity } from "./identity";

export const TIMESTAMP_HEADER = "x-keygate-timestamp";
export const SIGNATURE_HEADER = "x-keygate-signature";

const VERSION = "v1";
const DEFAULT_TOLERANCE_SECONDS = 300;
const SIGNATURE_PATTERN = /^v1=([0-9a-f]{64})$/i;
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
}

/** The two headers that authenticate a forwarded request. */
export type SignatureHeaders = Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string>;

export interface VerifyOptions {
  /** How far the timestamp may be from `now`, either way. Default 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: the clock. */
  now?: number;
}

export type VerifyResult =
  | { ok: true; identity: KeygateIdentity }
  | { ok: false; reason: "missing" | "stale" | "bad_signature" };

/**
 * The string that is signed:
 * `v1\n<timestamp>\n<METHOD>\n<path?query>\n<caller>\n<key-id>\n<org-id>\n<project-id>\n<scopes>\n<user-id>`,
 * missing values as empty strings and scopes space separated.
 */
export function signatureBase({ timestamp, method, pathAndQuery, identity }: SignatureInput): string {
  const fields = [
    identity.caller ?? "",
    identity.keyId ?? "",
    identity.orgId ?? "",
    identity.projectId ?? "",
    identity.scopes.join(" "),
    identity.userId ?? "",
  ];
  return joinBase(String(timestamp), method, pathAndQuery, fields);
}

/**
 * Signs a request for the origin.
 * @param secret - The shared ORIGIN_SECRET (during rotation, the new one).
 * @returns The `x-keygate-timestamp` and `x-keygate-signature` header values.
 */
export async function signKeygateRequest(secret: string, input: SignatureInput): Promise<SignatureHeaders> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(signatureBase(input)));
  return {
    [TIMESTAMP_HEADER]: String(input.timestamp),
    [SIGNATURE_HEADER]: `${VERSION}=${toHex(new Uint8Array(mac))}`,
  };
}

/**
 * Checks that `request` came through Keygate and returns the identity it carries.
 * The signature is compared in constant time; any of `secret` is accepted, so an origin can hold
 * the old and the new secret during a rotation.
 * @param request - As the origin received it: its URL path and query and its `x-keygate-*` headers.
 * @param secret - One secret or several (rotation).
 * @returns The identity (its `requestId` is for correlation only: the signature does not cover it),
 *   or why the request is not trusted: `missing` (no signature headers), `stale` (timestamp outside
 *   ±`toleranceSeconds`), `bad_signature` (anything else).
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

  const mac = SIGNATURE_PATTERN.exec(signature)?.[1];
  if (mac === undefined || !TIMESTAMP_PATTERN.test(timestamp)) return { ok: false, reason: "bad_signature" };

  const url = new URL(request.url);
  // The base is rebuilt from the raw header values, so it matches byte for byte what was signed.
  const fields = SIGNED_HEADERS.map((name) => headers.get(name) ?? "");
  const base = encoder.encode(joinBase(timestamp, request.method, url.pathname + url.search, fields));
  if (!(await verifiesWithAny(secrets, fromHex(mac), base))) return { ok: false, reason: "bad_signature" };

  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: "stale" };

  const identity = readIdentity(headers);
  return identity ? { ok: true, identity } : { ok: false, reason: "bad_signature" };
}

function joinBase(timestamp: string, method: string, pathAndQuery: string, fields: readonly string[]): string {
  return [VERSION, timestamp, method.toUpperCase(), pathAndQuery, ...fields].join("\n");
}

async function verifiesWithAny(secrets: readonly string[], mac: Uint8Array, data: Uint8Array): Promise<boolean> {
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
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
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
