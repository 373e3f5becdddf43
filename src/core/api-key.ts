/**
 * @module
 * The API key format of SPEC §2: `kg_<env>_<32 random base62><6 base62 CRC32 checksum>`
 * (GitHub's token scheme). {@link parseApiKey} runs on every request before any KV or D1 read,
 * so it checks the length first and then walks the string once, without regexes or allocations.
 */
import { sha256Hex } from "./sha256";

/** The env segment of a key: the gateway's `KEY_ENV`. */
export type KeyEnv = "live" | "test";

/** Base62 digits in ascending order, so fixed-width encodings sort like the numbers they encode. */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
/** `kg_live_` and `kg_test_` are both 8 characters, so every key has the same length. */
const ENV_PREFIXES: Readonly<Record<KeyEnv, string>> = { live: "kg_live_", test: "kg_test_" };
const ENV_PREFIX_LENGTH = 8;
const CHECKSUM_START = ENV_PREFIX_LENGTH + RANDOM_LENGTH;

/** Length of every API key: `kg_`, a 4-letter env, `_`, 32 random and 6 checksum characters. */
export const API_KEY_LENGTH = CHECKSUM_START + CHECKSUM_LENGTH;

/** Length of the non-secret `key_prefix` stored, listed and logged for each key. */
export const API_KEY_PREFIX_LENGTH = 12;

/** The outcome of {@link parseApiKey}. `wellFormed` marks a valid key of the other env. */
export type ParsedApiKey = { ok: true; key: string; prefix: string } | { ok: false; wellFormed: boolean };

/** Shared results, so rejecting garbage allocates nothing. */
const MALFORMED: ParsedApiKey = Object.freeze({ ok: false, wellFormed: false });
const OTHER_ENV: ParsedApiKey = Object.freeze({ ok: false, wellFormed: true });

/** Bytes below this (4 × 62) map onto base62 without modulo bias; the rest are redrawn. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);

const CRC_TABLE = buildCrcTable();
const BASE62_VALUES = buildBase62Values();

/**
 * Generates a new API key from CSPRNG randomness.
 *
 * @param env - the env segment, `live` or `test`
 * @returns a 46-character key such as `kg_live_Zx9qL2mP4vB7nR1tK8wY3hC6jD5fG0sE1hq89c`
 */
export function generateApiKey(env: KeyEnv): string {
  const body = ENV_PREFIXES[env] + randomBase62(RANDOM_LENGTH);
  return body + toBase62(crc32(body), CHECKSUM_LENGTH);
}

/**
 * Checks format, env and checksum of a presented key. Pure: no I/O, so a failure can answer
 * 401 before any lookup. A comma (two `x-api-key` headers joined) is not base62 and fails like
 * any other stray character.
 *
 * @param raw - the presented key, e.g. the `x-api-key` header value
 * @param env - the gateway's `KEY_ENV`
 * @returns the key and its prefix, or a failure; `wellFormed` is `true` only for a key with a
 *   valid format and checksum that belongs to the other env (its prefix may be logged)
 * @example
 * parseApiKey(generateApiKey("test"), "live"); // { ok: false, wellFormed: true }
 */
export function parseApiKey(raw: string, env: KeyEnv): ParsedApiKey {
  if (raw.length !== API_KEY_LENGTH) return MALFORMED;
  const keyEnv = envOf(raw);
  if (keyEnv === undefined || !isBase62(raw, ENV_PREFIX_LENGTH, CHECKSUM_START)) return MALFORMED;
  if (decodeBase62(raw, CHECKSUM_START, API_KEY_LENGTH) !== crc32(raw, CHECKSUM_START)) return MALFORMED;
  if (keyEnv !== env) return OTHER_ENV;
  return { ok: true, key: raw, prefix: keyPrefix(raw) };
}

/**
 * The stored, non-secret prefix of a key.
 *
 * @returns its first {@link API_KEY_PREFIX_LENGTH} characters, e.g. `kg_live_Zx9q`
 */
export function keyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX_LENGTH);
}

/**
 * Whether a bearer token is an API key rather than an OAuth access token (SPEC §1).
 *
 * @returns `true` when the token starts with `kg_`
 */
export function isKeygateToken(token: string): boolean {
  return token.startsWith("kg_");
}

/**
 * The digest stored for a key; the raw key itself is never stored.
 *
 * @returns the SHA-256 of the key's UTF-8 bytes, as 64 lowercase hex characters
 */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/**
 * CRC-32 (IEEE 802.3, as zlib computes it) of an ASCII string, one byte per character.
 *
 * @param input - ASCII text; code units above 255 are not UTF-8 encoded
 * @param length - how many leading characters to checksum (default: all)
 * @returns the unsigned 32-bit checksum
 * @example
 * crc32("123456789"); // 0xcbf43926
 */
export function crc32(input: string, length = input.length): number {
  let crc = 0xffffffff;
  for (let i = 0; i < length; i++) {
    crc = CRC_TABLE[(crc ^ input.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Encodes a non-negative integer in base62, most significant digit first.
 *
 * @param n - a non-negative safe integer
 * @param width - the exact output length; shorter encodings are left-padded with `0`
 * @throws {RangeError} when `n` is not a non-negative safe integer or needs more than `width` digits
 * @example
 * toBase62(62, 3); // "010"
 */
export function toBase62(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative safe integer, got ${n}`);
  let out = "";
  for (let i = 0; i < width; i++) {
    out = BASE62[n % BASE62.length] + out;
    n = Math.floor(n / BASE62.length);
  }
  if (n !== 0) throw new RangeError(`does not fit in ${width} base62 digits`);
  return out;
}

function envOf(raw: string): KeyEnv | undefined {
  if (raw.startsWith(ENV_PREFIXES.live)) return "live";
  if (raw.startsWith(ENV_PREFIXES.test)) return "test";
  return undefined;
}

function isBase62(input: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (base62Value(input.charCodeAt(i)) < 0) return false;
  }
  return true;
}

/** The value of `input[start, end)` in base62, or -1 when a character is not a base62 digit. */
function decodeBase62(input: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = base62Value(input.charCodeAt(i));
    if (digit < 0) return -1;
    value = value * BASE62.length + digit;
  }
  return value;
}

function base62Value(charCode: number): number {
  return charCode < BASE62_VALUES.length ? BASE62_VALUES[charCode]! : -1;
}

/** `length` base62 characters of unbiased CSPRNG randomness (also OAuth tokens' secret part). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      out += BASE62[byte % BASE62.length];
      if (out.length === length) break;
    }
  }
  return out;
}

function buildCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** Maps an ASCII code to its base62 digit value, -1 for any other character. */
function buildBase62Values(): Int8Array {
  const values = new Int8Array(128).fill(-1);
  for (let digit = 0; digit < BASE62.length; digit++) values[BASE62.charCodeAt(digit)] = digit;
  return values;
}
