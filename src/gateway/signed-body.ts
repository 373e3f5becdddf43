/**
 * @module
 * The body as signature v2 needs it. `content-digest` is a header, and headers go out before the
 * body, so the digest needs the whole body first: bodies up to a limit are read into memory and
 * hashed; a larger one is streamed unsigned by v2 (v1 only), so a large upload never sits in the
 * isolate's 128 MB.
 */
import { contentDigestOf } from "../origin/content-digest";
import { readBounded } from "./bounded-body";

/** What goes to the origin: the body, and its `content-digest` when it was read whole. */
export interface OutgoingBody {
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  contentDigest: string | undefined;
}

const BODYLESS_METHODS = new Set(["GET", "HEAD"]);
const EMPTY = new Uint8Array();

/**
 * Reads `request`'s body when it is at most `maxBytes` long and returns it with its digest; else
 * returns it as a stream (what was read so far, then the rest) without a digest. GET and HEAD send
 * no body and the digest of empty input.
 * @throws {KeygateError} 400 when the client's body cannot be read (cut off, malformed chunking).
 */
export async function readBodyForSignature(request: Request, maxBytes: number): Promise<OutgoingBody> {
  if (BODYLESS_METHODS.has(request.method) || request.body === null) {
    return { body: null, contentDigest: await contentDigestOf(EMPTY) };
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  const read = await readBounded(request.body, declared, maxBytes);
  if (read.stream) return { body: read.stream, contentDigest: undefined };
  return { body: read.bytes, contentDigest: await contentDigestOf(read.bytes) };
}
