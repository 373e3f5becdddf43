/**
 * Helpers for the CLI tests (Node): a temp config dir, captured output, and a scripted fake fetch.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { run } from "../../bin/lib/cli.mjs";

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Call {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
}

export type Handler = (call: Call) => Response | Promise<Response>;

export async function tempDir(prefix = "keygate-cli-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path: string = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** A real Writable (stream pipelines need one) that keeps what was written. */
function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Uint8Array | string, _encoding: string, done: () => void) {
      chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join("") });
}

/** A fake fetch answering each request with `handler`, recording every call. */
export function fakeFetch(handler: Handler) {
  const calls: Call[] = [];
  const fetch = async (input: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    const call = { method: init.method ?? "GET", url: new URL(input), headers: init.headers ?? {}, body: init.body ?? "" };
    calls.push(call);
    return handler(call);
  };
  return { fetch, calls };
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Runs the CLI in-process with `env` (KEYGATE_CONFIG_DIR etc.), a fake fetch and captured output. */
export async function runCli(
  argv: string[],
  options: { env?: Record<string, string>; fetch?: unknown; now?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<Captured> {
  const stdout = sink();
  const stderr = sink();
  const code: number = await run(argv, {
    env: options.env ?? {},
    fetch: options.fetch,
    now: options.now,
    sleep: options.sleep ?? (async () => {}),
    stdout,
    stderr,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
