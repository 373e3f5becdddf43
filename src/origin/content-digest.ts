/**
 * @module
 * The `content-digest` header of RFC 9530 with SHA-256 (`sha-256=:<base64>:`), which signature v2
 * covers: computed over a whole body by Keygate, checked over a streaming body by origins.
 */
import { Sha256 } from "./sha256-stream.js";

export const CONTENT_DIGEST_HEADER = "content-digest";

/** Exactly what Keygate sends: one sha-256 member, 32 bytes in padded base64. */
const CONTENT_DIGEST_PATTERN = /^sha-256=:([A-Za-z0-9+/]{43}=):$/;

/** The header value for `bytes`; an empty body has the digest of empty input. */
export async function contentDigestOf(bytes: Uint8Array): Promise<string> {
  return formatDigest(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** The 32 digest bytes of a header value Keygate could have sent, else `undefined`. */
export function parseContentDigest(value: string): Uint8Array | undefined {
  const base64 = CONTENT_DIGEST_PATTERN.exec(value)?.[1];
  if (base64 === undefined) return undefined;
  return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
}

/**
 * `body` passed through unchanged while it is hashed. The last chunk is held back until the end,
 * where a digest other than `expected` errors the stream instead of completing it, so a reader
 * never sees the whole of a body that does not match.
 */
export function verifyingDigest(body: ReadableStream<Uint8Array>, expected: Uint8Array, error: () => Error): ReadableStream<Uint8Array> {
  const hash = new Sha256();
  let held: Uint8Array | undefined;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        if (held) controller.enqueue(held);
        held = chunk;
      },
      flush(controller) {
        if (!equalBytes(hash.digest(), expected)) {
          controller.error(error());
          return;
        }
        if (held) controller.enqueue(held);
      },
    }),
  );
}

/** Compares in time that depends only on the length, not on where the bytes differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function formatDigest(digest: Uint8Array): string {
  return `sha-256=:${btoa(String.fromCharCode(...digest))}:`;
}
