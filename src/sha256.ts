/**
 * @module
 * SHA-256 as lowercase hex: how Keygate stores and caches secrets it must recognize but never keep.
 */

/** The SHA-256 of `text`'s UTF-8 bytes, as 64 lowercase hex characters. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
