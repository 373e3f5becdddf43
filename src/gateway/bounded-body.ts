/**
 * @module
 * Reading a request body into memory up to a bound, without ever holding more: a body within the
 * bound comes back whole; a longer one comes back as a stream of what was read so far and then
 * the rest, so a large upload still streams to the origin. An optional `inspect` sees every chunk
 * once, the read ones and the streamed ones alike; when it throws on a streamed chunk the stream
 * errors, so the origin never receives a whole body that failed inspection.
 */
import { KeygateError } from "../errors";

/** The body read whole (`bytes`), or as a stream when it is longer than the bound. */
export type BoundedBody = { bytes: Uint8Array; stream?: undefined } | { bytes?: undefined; stream: ReadableStream<Uint8Array> };

/**
 * Reads `body` whole when it is at most `maxBytes` long (a `declaredLength` over the bound skips
 * the read entirely).
 * @throws {KeygateError} 400 when the client's body cannot be read (cut off, malformed chunking);
 *   whatever `inspect` throws on a chunk read before the bound.
 */
export async function readBounded(
  body: ReadableStream<Uint8Array>,
  declaredLength: number,
  maxBytes: number,
  inspect: (chunk: Uint8Array) => void = () => {},
): Promise<BoundedBody> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  if (declaredLength > maxBytes) return { stream: replay(chunks, reader, inspect) };
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw KeygateError.badRequest([{ path: "body", message: "the request body could not be read" }]);
    });
    if (done) break;
    inspect(value);
    chunks.push(value);
    length += value.byteLength;
    if (length > maxBytes) return { stream: replay(chunks, reader, inspect) };
  }
  return { bytes: concat(chunks, length) };
}

/** A stream of `chunks` (already inspected) and then whatever `reader` still holds, inspected. */
function replay(chunks: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>, inspect: (chunk: Uint8Array) => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next) return controller.enqueue(next);
      const { done, value } = await reader.read();
      if (done) return controller.close();
      try {
        inspect(value);
      } catch (error) {
        await reader.cancel(error);
        throw error;
      }
      controller.enqueue(value);
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
