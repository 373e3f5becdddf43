/**
 * The SSE rewriter behind filtered MCP list results (SPEC §10): only the chosen event's data
 * changes, every other byte leaves as it came, whatever the chunk boundaries, and nothing is held
 * longer than the event that might need rewriting.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sseRewriter, type SseRewriteOptions } from "../../../src/gateway/mcp/sse";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TARGET_ID = 7;

/** Rewrites the result of the response with id 7, like a filtered tools/list. */
const filterTarget = (message: unknown) => {
  const m = message as { id?: unknown; result?: unknown };
  return m && typeof m === "object" && m.id === TARGET_ID && m.result ? { ...m, result: { tools: [] } } : undefined;
};
const options = (overrides: Partial<SseRewriteOptions> = {}): SseRewriteOptions => ({ rewrite: filterTarget, once: true, maxEventBytes: 1 << 20, ...overrides });

async function run(chunks: readonly Uint8Array[], opts: SseRewriteOptions = options()): Promise<string> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return decoder.decode(await new Response(source.pipeThrough(sseRewriter(opts))).arrayBuffer());
}

/** `bytes` cut at the given positions. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(last, point));
    last = point;
  }
  return chunks;
}

const terminator = fc.constantFrom("\n", "\r\n", "\r");
const text = fc.array(fc.oneof(fc.constantFrom("é", "€", "😀", "{", "}", ":", " "), fc.string({ maxLength: 1 }))).map((parts) => parts.join("")).map((s) => s.replace(/[\r\n]/g, ""));
const json = fc.jsonValue().map((value) => JSON.stringify(value));
const line = fc.oneof(
  text.map((t) => `data: ${t}`),
  json.map((j) => `data:${j}`),
  text.map((t) => `event: ${t}`),
  fc.nat().map((n) => `id: ${n}`),
  text.map((t) => `: ${t}`),
  fc.constant("data"),
  fc.constant("retry: 1000"),
);
/** One event: its lines and a blank line, all with one terminator. */
const event = fc.tuple(fc.array(line, { minLength: 1, maxLength: 5 }), terminator).map(([lines, end]) => lines.map((l) => l + end).join("") + end);
const stream = fc.array(event, { maxLength: 6 }).map((events) => events.join(""));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

function targetEvent(end: string, result: unknown): string {
  return `event: message${end}id: ev-1${end}data: ${JSON.stringify({ jsonrpc: "2.0", id: TARGET_ID, result })}${end}${end}`;
}

describe("sseRewriter", () => {
  it("gives the same bytes for any chunk boundaries (property)", async () => {
    await fc.assert(
      fc.asyncProperty(stream, cuts, fc.boolean(), async (input, at, once) => {
        const bytes = encoder.encode(input);
        expect(await run(split(bytes, at), options({ once }))).toBe(await run([bytes], options({ once })));
      }),
    );
  });

  it("leaves a stream it rewrites nothing in byte-identical (property)", async () => {
    await fc.assert(
      fc.asyncProperty(stream, cuts, async (input, at) => {
        expect(await run(split(encoder.encode(input), at), options({ rewrite: () => undefined }))).toBe(input);
      }),
    );
  });

  it("changes only the data of the response with the matching id, once (property)", async () => {
    const tools = fc.array(fc.record({ name: fc.string() }));
    await fc.assert(
      fc.asyncProperty(stream, terminator, tools, stream, cuts, async (before, end, list, after, at) => {
        // Events before the target carry no response with its id; `after` may repeat one, untouched.
        fc.pre(!before.includes(`"id":${TARGET_ID}`));
        const input = before + targetEvent(end, { tools: list }) + after + targetEvent(end, { tools: list });
        const expected = before + targetEvent(end, { tools: [] }) + after + targetEvent(end, { tools: list });
        expect(await run(split(encoder.encode(input), at))).toBe(expected);
      }),
    );
  });

  it("joins multi-line data and writes the rewritten message as one data line in its place", async () => {
    const input = 'id: 1\ndata: {"jsonrpc":"2.0",\nevent: message\ndata: "id":7,"result":{"tools":[{"name":"x"}]}}\n\n';
    expect(await run([encoder.encode(input)])).toBe('id: 1\ndata: {"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\nevent: message\n\n');
  });

  it("rewrites every matching event when not once, and leaves non-JSON data alone", async () => {
    const input = targetEvent("\n", { tools: [1] }) + "data: not json\n\n" + targetEvent("\n", { tools: [2] });
    expect(await run([encoder.encode(input)], options({ once: false }))).toBe(
      targetEvent("\n", { tools: [] }) + "data: not json\n\n" + targetEvent("\n", { tools: [] }),
    );
  });

  it("sends lines before an event's data at once, holds a split event until its end, then streams the rest unexamined", async () => {
    const rewriter = sseRewriter(options());
    const writer = rewriter.writable.getWriter();
    const reader = rewriter.readable.getReader();
    const send = (chunk: string) => void writer.write(encoder.encode(chunk));
    const next = async () => decoder.decode((await reader.read()).value);

    send("event: message\nid: 1\n");
    expect(await next()).toBe("event: message\nid: 1\n");
    send('data: {"jsonrpc":"2.0","id":7,"res');
    send('ult":{"tools":[{"name":"secret"}]}}\n');
    send("\n");
    expect(await next()).toBe('data: {"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\n\n');
    send("data: par");
    expect(await next()).toBe("data: par");
    await writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it("fails the stream rather than pass an event larger than the limit unchecked", async () => {
    const big = `data: ${"x".repeat(2000)}`;
    await expect(run([encoder.encode(big), encoder.encode("\n\n")], options({ maxEventBytes: 1000 }))).rejects.toThrow("exceeds 1000 bytes");
    await expect(run([encoder.encode(big + "\n"), encoder.encode("\n")], options({ maxEventBytes: 1000 }))).rejects.toThrow("exceeds 1000 bytes");
  });
});
