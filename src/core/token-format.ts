/**
 * @module
 * Keygate's opaque secrets: those of the OAuth flows (access, refresh, device and authorization
 * codes), `kgo_<kind>_<43 base62>`, and invitation links, `kgi_<43 base62>` (256 bits of CSPRNG
 * randomness each). They never start with `kg_`, which marks API keys (SPEC §1), and are stored
 * only as SHA-256.
 */
import { randomBase62 } from "./api-key";
import { sha256Hex } from "./sha256";

const PREFIXES = { access: "kgo_at_", refresh: "kgo_rt_", device: "kgo_dc_", code: "kgo_ac_", invitation: "kgi_" } as const;
const SECRET_LENGTH = 43;
const SECRET = /^[0-9A-Za-z]{43}$/;

export type SecretKind = keyof typeof PREFIXES;

/** A new secret, e.g. `kgo_at_3Fh…`. */
export function generateSecret(kind: SecretKind): string {
  return PREFIXES[kind] + randomBase62(SECRET_LENGTH);
}

/** Whether `raw` has the form of a `kind` secret: a cheap check before any lookup. */
export function isSecretOf(kind: SecretKind, raw: string): boolean {
  return raw.startsWith(PREFIXES[kind]) && SECRET.test(raw.slice(PREFIXES[kind].length));
}

/** The stored digest of a secret. */
export function hashSecret(raw: string): Promise<string> {
  return sha256Hex(raw);
}
