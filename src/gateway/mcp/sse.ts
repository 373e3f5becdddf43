/**
 * @module
 * An SSE (text/event-stream) rewriter that changes the data of chosen events and nothing else.
 * Invariant: every byte it does not rewrite leaves exactly as it came, whatever the chunking.
 * Lines before an event's first `data` line go out as soon as they are complete; from that line
 * on, the event is held until its blank line, because only its whole data says whether it is the
 * one to rewrite. With `once`, everything after the rewritten event streams through unexamined.
 */

export interface SseRewriteOptions {
  /** The message to send instead of an event's JSON data, `undefined` to leave the event as is. */
  rewrite(message: unknown): unknown;
  /** Stop examining events after the first rewrite. */
  once: boolean;
  /** The most an event (from its first data line) may hold before the stream is failed. */
  maxEventBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DATA = new TextEncoder().encode("data");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A byte stream transform applying {@link SseRewriteOptions.rewrite} to each event's data.
 * @example response.body.pipeThrough(sseRewriter({ rewrite: filter, once: true, maxEventBytes: 1 << 24 }))
 */
export function sseRewriter(options: SseRewriteOptions): TransformStream<Uint8Array, Uint8Array> {
  /** The start of a line whose end has not arrived yet. */
  let partial: Uint8Array = new Uint8Array(0);
  /** The current event's complete lines from its first data line on. */
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let passThrough = false;

  const finishEvent = (out: Uint8Array[], blank: Uint8Array) => {
    const rewritten = rewriteEvent(held, options.rewrite);
    if (rewritten) {
      out.push(...rewritten);
      if (options.once) passThrough = true;
    } else {
      out.push(...held);
    }
    out.push(blank);
    held = [];
    heldBytes = 0;
  };

  return new TransformStream({
    transform(chunk, controller) {
      if (passThrough) return controller.enqueue(chunk);
      const bytes = partial.length === 0 ? chunk : concat([partial, chunk]);
      const out: Uint8Array[] = [];
      let start = 0;
      // The carried-over start of a line holds no line end, except perhaps a final CR.
      let searchFrom = Math.max(0, partial.length - 1);
      while (start < bytes.length) {
        const end = lineEnd(bytes, start, searchFrom);
        if (end === undefined) break;
        const line = bytes.subarray(start, end.next);
        start = searchFrom = end.next;
        if (end.content === 0) {
          if (held.length > 0) finishEvent(out, line);
          else out.push(line);
        } else if (held.length > 0 || isDataLine(line)) {
          // A copy: the chunk it came in is not ours to keep.
          held.push(line.slice());
          heldBytes += line.length;
        } else out.push(line);
        if (passThrough) {
          out.push(bytes.subarray(start));
          start = bytes.length;
        }
      }
      partial = bytes.slice(start);
      if (heldBytes + partial.length > options.maxEventBytes) {
        controller.error(new RangeError(`an SSE event exceeds ${options.maxEventBytes} bytes`));
        return;
      }
      if (out.length > 0) controller.enqueue(concat(out));
    },
    flush(controller) {
      // An event cut off by the end of the stream is discarded by clients (WHATWG SSE), so it is
      // sent as it came.
      const rest = concat([...held, partial]);
      if (rest.length > 0) controller.enqueue(rest);
    },
  });
}

/**
 * Where the line starting at `start` ends, searching from `from`: `content` is its length without
 * the terminator, `next` where the following line starts. `undefined` when the end has not
 * arrived, including a final CR that may yet be followed by LF.
 */
function lineEnd(bytes: Uint8Array, start: number, from: number): { content: number; next: number } | undefined {
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === LF) return { content: i - start, next: i + 1 };
    if (byte === CR) {
      if (i + 1 === bytes.length) return undefined;
      return { content: i - start, next: bytes[i + 1] === LF ? i + 2 : i + 1 };
    }
  }
  return undefined;
}

function isDataLine(line: Uint8Array): boolean {
  for (let i = 0; i < DATA.length; i++) if (line[i] !== DATA[i]) return false;
  const next = line[DATA.length];
  return next === COLON || next === LF || next === CR;
}

/** The event's lines with its data replaced by the rewritten message, or `undefined` to keep them. */
function rewriteEvent(lines: readonly Uint8Array[], rewrite: (message: unknown) => unknown): Uint8Array[] | undefined {
  const data: string[] = [];
  for (const line of lines) if (isDataLine(line)) data.push(fieldValue(line));
  let message: unknown;
  try {
    message = JSON.parse(data.join("\n"));
  } catch {
    return undefined;
  }
  const replacement = rewrite(message);
  if (replacement === undefined) return undefined;
  const out: Uint8Array[] = [];
  let written = false;
  for (const line of lines) {
    if (!isDataLine(line)) out.push(line);
    else if (!written) {
      out.push(encoder.encode(`data: ${JSON.stringify(replacement)}`), terminatorOf(line));
      written = true;
    }
  }
  return out;
}

/** A field's value: after the first colon, one leading space removed, without the terminator. */
function fieldValue(line: Uint8Array): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === LF || line[end - 1] === CR)) end--;
  let start = line.indexOf(COLON);
  if (start === -1 || start >= end) return "";
  start++;
  if (line[start] === SPACE) start++;
  return decoder.decode(line.subarray(start, end));
}

function terminatorOf(line: Uint8Array): Uint8Array {
  const crlf = line.length >= 2 && line[line.length - 2] === CR;
  return line.subarray(line.length - (crlf ? 2 : 1));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
