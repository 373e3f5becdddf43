/**
 * @module
 * The body as signature v2 needs it. `content-digest` is a header, and headers go out before the
 * body, so the digest needs the whole body first: bodies up to a limit are read into memory and
 * hashed; a larger one is streamed unsigned by v2 (v1 only), so a large upload never sits in the
 * isolate's 128 MB.
 */
import { KeygateError } from "../errors";
import { contentDigestOf } from "../origin/content-digest";

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
  if (declared > maxBytes) return { body: request.body, contentDigest: undefined };

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw KeygateError.badRequest([{ path: "body", message: "the request body could not be read" }]);
    });
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
    if (length > maxBytes) return { body: replay(chunks, reader), contentDigest: undefined };
  }
  const body = concat(chunks, length);
  return { body, contentDigest: await contentDigestOf(body) };
}

/** A stream of `chunks` and then whatever `reader` still holds. */
function replay(chunks: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next) return controller.enqueue(next);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
