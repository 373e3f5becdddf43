/**
 * @module
 * Whole requests through Keygate's Worker (`app.fetch`) inside one micro-benchmark request, with an
 * origin and a Queue that answer at once: Keygate's own JavaScript per request, without the
 * sockets, HTTP parsing and subrequest machinery that dominate (and blur) the load scenarios. The
 * bare-proxy op does what bench/peers/bare-proxy.ts does against the same stub origin, so the
 * difference between two ops is what Keygate adds, measured to a few microseconds.
 *
 * Requests go in groups of {@link GROUP}, and each group's `waitUntil` work (the audit producer's
 * coalescing window and send) is awaited before the next, as a busy isolate's batches are. The
 * clock stands still while JavaScript runs, so the driver (bench/lib/request-path.mjs) does not time
 * these runs: it counts the isolate's CPU in V8's profiler, which leaves the idle waits out.
 */
import { app } from "../../src/app";
import type { Bindings } from "../../src/env";
import type { KeyState } from "../../src/caller/active-key";
import { COALESCE_MS } from "../../src/audit/producer";

export interface RequestPathFixtures {
  validKey: string;
  badChecksumKey: string;
  keyState: KeyState;
}

const GATEWAY = "http://gateway.bench";
// What a client and Cloudflare's edge put on a request (autocannon's own, plus the edge's).
const CLIENT_HEADERS = {
  "user-agent": "autocannon",
  accept: "*/*",
  "accept-encoding": "gzip, br",
  connection: "keep-alive",
  "cf-connecting-ip": "192.0.2.1",
  "cf-ipcountry": "DE",
  "cf-ray": "8f2b1c3d4e5f6a7b-FRA",
  "x-forwarded-proto": "https",
};
/** Requests per audit batch: about what a 20 ms window holds at 1,000 req/s. */
const GROUP = 20;
const ORIGIN_BODY = JSON.stringify({ ok: true, data: "x".repeat(80) });

/** An origin that answers at once, as bench/lib/origin.mjs does over the network. */
const stubOrigin = {
  async fetch(): Promise<Response> {
    return new Response(ORIGIN_BODY, { headers: { "content-type": "application/json" } });
  },
} as unknown as Fetcher;

/** `waitUntil` promises collected so an op can await its requests' audit work. */
class CollectingContext implements Pick<ExecutionContext, "waitUntil" | "passThroughOnException" | "props"> {
  readonly pending: Promise<unknown>[] = [];
  readonly props = {};
  waitUntil(promise: Promise<unknown>): void {
    this.pending.push(promise);
  }
  passThroughOnException(): void {}
}

let env: Bindings | undefined;

/**
 * Keygate's bindings with the stub origin, a Queue that takes any batch, and a KV namespace
 * holding `keyState` under every name (so the first lookup fills the memory cache and the rest
 * hit it). One object for the whole isolate: Keygate derives its config once per env object.
 */
function benchEnv(keyState: KeyState): Bindings {
  const entry = { cachedAt: Date.now(), value: keyState };
  const kv = {
    async get() {
      return entry;
    },
    async put() {},
    async delete() {},
  };
  env ??= {
    KEY_ENV: "live",
    ORIGIN_URL: "https://origin.bench",
    ORIGIN_SERVICE: stubOrigin,
    AUDIT_QUEUE: { async send() {}, async sendBatch() {} },
    KEY_CACHE: kv,
  } as unknown as Bindings;
  return env;
}

async function drain(response: Response): Promise<number> {
  const length = (await response.arrayBuffer()).byteLength;
  return response.status + length;
}

async function requests(n: number, fx: RequestPathFixtures, path: string, headers: Record<string, string>): Promise<number> {
  const bindings = benchEnv(fx.keyState);
  let sink = 0;
  for (let done = 0; done < n; ) {
    const ctx = new CollectingContext();
    for (const end = Math.min(n, done + GROUP); done < end; done++) {
      const response = await app.fetch(new Request(GATEWAY + path, { headers: { ...CLIENT_HEADERS, ...headers } }), bindings, ctx as unknown as ExecutionContext);
      sink = (sink + (await drain(response))) | 0;
    }
    await Promise.all(ctx.pending);
  }
  return sink;
}

/** bench/peers/bare-proxy.ts against the stub origin, in groups that wait as Keygate's do. */
async function bareProxy(n: number): Promise<number> {
  const originUrl = "https://origin.bench";
  let sink = 0;
  for (let done = 0; done < n; ) {
    for (const end = Math.min(n, done + GROUP); done < end; done++) {
      const request = new Request(`${GATEWAY}/public/bench`, { headers: CLIENT_HEADERS });
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      const response = await stubOrigin.fetch(new URL(url.pathname + url.search, originUrl), { method: request.method, headers, redirect: "manual" });
      sink = (sink + (await drain(response))) | 0;
    }
    await scheduler.wait(COALESCE_MS);
  }
  return sink;
}

/** The ops, by name; `run(n)` makes n requests. */
export function requestPathOps(fixtures: () => RequestPathFixtures) {
  return {
    "request-bare-proxy": {
      describe: "bench/peers/bare-proxy.ts's work for one request (new URL, copy headers, fetch, return), stub origin",
      run: (n: number) => bareProxy(n),
    },
    "request-passthrough": {
      describe: "one request through Keygate's Worker: public route, no credential, stub origin and Queue",
      run: (n: number) => requests(n, fixtures(), "/public/bench", {}),
    },
    "request-memory-hit": {
      describe: "one request through Keygate's Worker: API key from the memory cache, stub origin and Queue",
      run: (n: number) => requests(n, fixtures(), "/api/v1/stories", { "x-api-key": fixtures().validKey }),
    },
    "request-invalid-checksum": {
      describe: "one request through Keygate's Worker: a key failing its checksum (401, no I/O), stub Queue",
      run: (n: number) => requests(n, fixtures(), "/api/v1/stories", { "x-api-key": fixtures().badChecksumKey }),
    },
  };
}
