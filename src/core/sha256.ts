/**
 * @module
 * SHA-256 as lowercase hex (how Keygate stores and caches secrets it must recognize but never keep),
 * and base64url encodings.
 */

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** The SHA-256 of `text`'s UTF-8 bytes, as 64 lowercase hex characters. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

/** Unpadded base64url (RFC 4648 §5) of `bytes`: PKCE challenges, form tokens. */
export function base64Url(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The SHA-256 of `text`'s UTF-8 bytes, as unpadded base64url (RFC 7636 S256). */
export async function sha256Base64Url(text: string): Promise<string> {
  return base64Url(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}
