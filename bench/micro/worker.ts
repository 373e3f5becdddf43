/**
 * @module
 * Bench-only Worker for micro-benchmarks of Keygate's hot-path helpers, run inside workerd.
 *
 * workerd freezes `Date.now()` and `performance.now()` while JavaScript runs (they only move on
 * I/O), so this Worker does not time itself: `GET /run?op=<name>&n=<iterations>` runs one
 * operation `n` times and answers; the Node driver times the round trips and subtracts the
 * `noop` loop run with the same `n`. Every op folds its results into a sink returned in the body,
 * so V8 cannot drop the work.
 */
import { compileKey, KeyStateSchema, type KeyState } from "../../src/caller/active-key";
import { generateApiKey, hashApiKey, parseApiKey } from "../../src/core/api-key";
import { readCredential } from "../../src/http/read-credential";
import { compileIpAllowlist, isIpAllowed } from "../../src/core/ip";
import { loadPolicy } from "../../src/policy/compile";
import { requestPathIssue } from "../../src/policy/match";
import { compileGrants, missingScopes } from "../../src/core/scopes";
import { KeygateError } from "../../src/errors";
import { MemoryCache } from "../../src/cache/memory";
import { newId } from "../../src/core/ids";
import { parseMcpMessage } from "../../src/gateway/mcp/jsonrpc";
import { filterListResponse, LIST_SHAPES } from "../../src/gateway/mcp/lists";
import { sseRewriter } from "../../src/gateway/mcp/sse";
import { Hono } from "hono";
import { auditEventOf } from "../../src/audit/record";
import { packMessages } from "../../src/audit/producer";
import type { AnyChainEnv } from "../../src/http/context";
import type { AuditEvent } from "../../src/schemas/audit-event";
import { requestPathOps } from "./request-path";

type Op = { describe: string; run(n: number): number | Promise<number> };

// Fixtures are built on the first request: workerd forbids random values (key generation) at
// global scope.
function makeFixtures() {
  const policy = loadPolicy({});
  const catalog = Object.keys(policy.catalog.scopes);
  const REQUIRED = ["stories:read", "stories:write", "stories:publish"];
  // 50 exact catalog scopes, the three required among them.
  const EXACT_50 = [...REQUIRED, ...catalog.filter((s) => !REQUIRED.includes(s))].slice(0, 50).reverse();
  // 47 exact scopes that do not cover the route plus 3 wildcards; the route is covered only by `stories:*`.
  const WILDCARD_50 = [
    ...catalog.filter((s) => !s.startsWith("stories:")).slice(0, 47),
    "real-prompter:*",
    "media:*",
    "stories:*",
  ];
  const grantsExact = compileGrants(EXACT_50);
  const grantsWildcard = compileGrants(WILDCARD_50);

  // 100 rules: 50 IPv4 /24s and 50 IPv6 /64s, mixed as an operator would list them.
  const IP_RULES = Array.from({ length: 50 }, (_, i) => [`10.${i}.${i}.0/24`, `2001:db8:${i.toString(16)}::/64`]).flat();
  const ipList = compileIpAllowlist(IP_RULES);

  const validKey = generateApiKey("live");
  const badChecksumKey = validKey.slice(0, -1) + (validKey.endsWith("0") ? "1" : "0");
  const keyHeaders = new Headers({ "x-api-key": validKey, "user-agent": "bench", accept: "application/json" });
  const keyState: KeyState = {
    id: "key_01JD3Q5K2M8Z4X7V9B1C3D5F7G",
    org_id: "org_01JD3Q5K2M8Z4X7V9B1C3D5F7G",
    project_id: null,
    key_prefix: validKey.slice(0, 12),
    scopes: ["stories:read", "stories:write", "media:read"],
    allowed_ips: [],
    allowed_origins: [],
    restrictions_mode: "enforce",
    not_before: null,
    expires_at: "2099-01-01T00:00:00.000Z",
    revoked_at: null,
    rotation_root_id: "key_01JD3Q5K2M8Z4X7V9B1C3D5F7G",
    rate_limits: [],
    quota: null,
  };
  const kvEntryText = JSON.stringify({ cachedAt: 1_800_000_000_000, value: keyState });
  // The demo MCP route and a tools/list SSE reply of 50 tools (about 8 KB), half of them allowed.
  const mcpRoute = policy.matchRoute("POST", "/api/v1/mcp")!.route;
  const mcpRules = mcpRoute.mcp!;
  const mcpCall = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "publish_story", arguments: { id: "s1" } } });
  const mcpGrants = compileGrants(["stories:*", "media:read"]);
  const tools = Array.from({ length: 50 }, (_, i) => ({
    name: i % 2 === 0 ? "list_stories" : "create_webhook",
    description: `Tool number ${i}, with a description of typical length for an MCP tool.`,
    inputSchema: { type: "object", properties: { id: { type: "string" } } },
  }));
  const sseList = new TextEncoder().encode(
    'event: message\nid: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n' +
      `event: message\nid: e2\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } })}\n\n`,
  );
  const mayUse = (kind: "tools" | "prompts" | "resources", name: string) => {
    const required = mcpRules.requiredFor(kind, name);
    return required !== undefined && missingScopes(mcpGrants, required).length === 0;
  };
  const listFilter = { shapes: [LIST_SHAPES["tools/list"]], mayUse };
  const jsonList = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } });
  return { mcpRules, mcpCall, mcpGrants, sseList, jsonList, listFilter, policy, REQUIRED, WILDCARD_50, grantsExact, grantsWildcard, IP_RULES, ipList, validKey, badChecksumKey, keyHeaders, keyState, kvEntryText };
}

/** auditEventOf `n` times on the Hono context of a memory-hit request (caller, route, ids set). */
async function buildAuditEvents(n: number): Promise<{ sink: number; event: AuditEvent }> {
  const fx = f();
  const app = new Hono<AnyChainEnv>();
  let sink = 0;
  let event!: AuditEvent;
  app.get("*", (c) => {
    c.set("requestId", newId("req"));
    c.set("route", fx.policy.matchRoute("GET", "/api/v1/stories")!);
    c.set("decider", "api_key");
    c.set("keyPrefix", fx.validKey.slice(0, 12));
    c.set("caller", { kind: "api_key", key: compileKey(fx.keyState) });
    for (let i = 0; i < n; i++) {
      event = auditEventOf(c, 0);
      sink = (sink + event.id.length) | 0;
    }
    return c.text("ok");
  });
  await app.request("/api/v1/stories", { headers: { "x-api-key": fx.validKey, "user-agent": "autocannon", "cf-connecting-ip": "192.0.2.1" } });
  return { sink, event };
}

let sampleEvent: AuditEvent | undefined;

let idClock = 0;
let lruNext = 0;
let lruState: { cache: MemoryCache<number>; hot: string } | undefined;
/** A MemoryCache as big as the key cache's (10,000), already full. */
function lru() {
  if (!lruState) {
    const cache = new MemoryCache<number>(10_000);
    for (let i = 0; i < 10_000; i++) cache.set(`key:${(lruNext++).toString(16).padStart(64, "0")}`, i, Number.MAX_SAFE_INTEGER);
    const hot = `key:${"f".repeat(64)}`;
    cache.set(hot, 1, Number.MAX_SAFE_INTEGER);
    lruState = { cache, hot };
  }
  return lruState;
}

let fixtures: ReturnType<typeof makeFixtures> | undefined;
const f = () => (fixtures ??= makeFixtures());

/** Pipes `bytes` (as 2 KB chunks) through a list-filtering SSE rewriter (or, without a filter, an identity transform); the output length. */
async function rewriteSseOnce(bytes: Uint8Array, filter?: Parameters<typeof filterListResponse>[1]): Promise<number> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 2048) controller.enqueue(bytes.subarray(i, i + 2048));
      controller.close();
    },
  });
  const transform = filter ? sseRewriter({ rewrite: (m) => filterListResponse(m, filter), once: true, maxEventBytes: 1 << 24 }) : new TransformStream<Uint8Array, Uint8Array>();
  const reader = source.pipeThrough(transform).getReader();
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return length;
    length += value.length;
  }
}

const OPS: Record<string, Op> = {
  noop: {
    describe: "empty loop (baseline, subtracted from every op)",
    run(n) {
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + i) | 0;
      return sink;
    },
  },
  "hash-key": {
    describe: "hashApiKey: SHA-256 of a 46-char key + hex (crypto.subtle.digest, awaited)",
    async run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (await hashApiKey(fx.validKey)).charCodeAt(i & 63)) | 0;
      return sink;
    },
  },
  "sha256-digest-only": {
    describe: "crypto.subtle.digest SHA-256 of the key, no hex encoding",
    async run(n) {
      const fx = f();
      const bytes = new TextEncoder().encode(fx.validKey);
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))[i & 31]!) | 0;
      return sink;
    },
  },
  "text-encode-new": {
    describe: "new TextEncoder().encode(key), as hashApiKey does per call",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + new TextEncoder().encode(fx.validKey)[i & 31]!) | 0;
      return sink;
    },
  },
  "hex-32-bytes": {
    describe: "hex of a 32-byte digest, as hashApiKey does (Array.from + toString(16) + padStart + join)",
    run(n) {
      const bytes = new Uint8Array(32).map((_, i) => i * 7);
      let sink = 0;
      for (let i = 0; i < n; i++) {
        sink = (sink + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("").charCodeAt(i & 63)) | 0;
      }
      return sink;
    },
  },
  "parse-key-valid": {
    describe: "parseApiKey: format + CRC32 checksum of a valid key",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (parseApiKey(fx.validKey, "live").ok ? 1 : 0)) | 0;
      return sink;
    },
  },
  "parse-key-bad-checksum": {
    describe: "parseApiKey: a key whose checksum fails (rejected before any I/O)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (parseApiKey(fx.badChecksumKey, "live").ok ? 1 : 0)) | 0;
      return sink;
    },
  },
  "scopes-50-exact": {
    describe: "missingScopes: 50-scope key (exact grants) vs a 3-scope route",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + missingScopes(fx.grantsExact, fx.REQUIRED).length) | 0;
      return sink;
    },
  },
  "scopes-50-wildcard": {
    describe: "missingScopes: 50 grants (47 exact + 3 wildcards) vs 3 scopes met by `stories:*`",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + missingScopes(fx.grantsWildcard, fx.REQUIRED).length) | 0;
      return sink;
    },
  },
  "compile-grants-50": {
    describe: "compileGrants of 50 scopes (once per key entering the memory cache)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + compileGrants(fx.WILDCARD_50).prefixes.length) | 0;
      return sink;
    },
  },
  "ip-100-v4-last": {
    describe: "isIpAllowed: IPv4 client matching the last IPv4 rule of a 100-rule list",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (isIpAllowed(fx.ipList, "10.49.49.7") ? 1 : 0)) | 0;
      return sink;
    },
  },
  "ip-100-v4-miss": {
    describe: "isIpAllowed: IPv4 client matching no rule (full scan, denied)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (isIpAllowed(fx.ipList, "192.0.2.1") ? 1 : 0)) | 0;
      return sink;
    },
  },
  "ip-100-v6-last": {
    describe: "isIpAllowed: IPv6 client matching the last IPv6 rule",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (isIpAllowed(fx.ipList, "2001:db8:31::1") ? 1 : 0)) | 0;
      return sink;
    },
  },
  "compile-ip-100": {
    describe: "compileIpAllowlist of 100 rules (once per key entering the memory cache)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + compileIpAllowlist(fx.IP_RULES).ipv4.length) | 0;
      return sink;
    },
  },
  "mcp-check-tools-call": {
    describe: "MCP per-message check: parse a tools/call body, look up its tool, check its scopes",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) {
        const parsed = parseMcpMessage(fx.mcpCall);
        const required = parsed.ok && parsed.message.target ? fx.mcpRules.requiredFor(parsed.message.target.kind, parsed.message.target.name) : undefined;
        sink = (sink + (required ? missingScopes(fx.mcpGrants, required).length : 1)) | 0;
      }
      return sink;
    },
  },
  "mcp-sse-filter-list": {
    describe: "SSE rewriter: a tools/list reply of 50 tools (~8 KB, 2 KB chunks) filtered to 25",
    async run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (await rewriteSseOnce(fx.sseList, fx.listFilter))) | 0;
      return sink;
    },
  },
  "mcp-sse-identity-baseline": {
    describe: "The same SSE bytes through an identity TransformStream: the stream machinery alone",
    async run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (await rewriteSseOnce(fx.sseList))) | 0;
      return sink;
    },
  },
  "mcp-filter-list-json": {
    describe: "The same 50-tool list as JSON: JSON.parse, filter to 25, JSON.stringify (no stream)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + JSON.stringify(filterListResponse(JSON.parse(fx.jsonList), fx.listFilter)).length) | 0;
      return sink;
    },
  },
  "match-route": {
    describe: "policy.matchRoute GET /api/v1/stories (an early route of ~100, TrieRouter)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (fx.policy.matchRoute("GET", "/api/v1/stories")?.route.index ?? -1)) | 0;
      return sink;
    },
  },
  "match-route-late": {
    describe: "policy.matchRoute GET /public/bench (a route late in policy order)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (fx.policy.matchRoute("GET", "/public/bench")?.route.index ?? -1)) | 0;
      return sink;
    },
  },
  "path-issue": {
    describe: "requestPathIssue of a plain URL (ambiguous-path check, per request)",
    run(n) {
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (requestPathIssue("http://127.0.0.1:8787/api/v1/stories?limit=10") ? 1 : 0)) | 0;
      return sink;
    },
  },
  "read-credential": {
    describe: "readCredential from headers holding x-api-key",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + readCredential(fx.keyHeaders, ["better-auth.session_token"]).kind.length) | 0;
      return sink;
    },
  },
  "new-id-same-ms": {
    describe: "newId(\"req\") within one millisecond (increments the random part)",
    run(n) {
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + newId("req").charCodeAt(30)) | 0;
      return sink;
    },
  },
  "new-id-new-ms": {
    describe: "newId(\"req\", t) with a new millisecond each call, as requests see it (fresh randomness)",
    run(n) {
      const start = 1_900_000_000_000 + (idClock += 10_000_000);
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + newId("req", start + i).charCodeAt(30)) | 0;
      return sink;
    },
  },
  "audit-event-build": {
    describe: "auditEventOf: the audit event of a memory-hit request, from its Hono context",
    async run(n) {
      return (await buildAuditEvents(n)).sink;
    },
  },
  "audit-pack-1": {
    describe: "packMessages of one event: its JSON text, sized, in the message envelope",
    async run(n) {
      sampleEvent ??= (await buildAuditEvents(1)).event;
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + packMessages([sampleEvent])[0]!.length) | 0;
      return sink;
    },
  },
  "lru-hit": {
    describe: "MemoryCache.get hit in a full 10,000-entry cache (delete + re-insert to mark it recent)",
    run(n) {
      const { cache, hot } = lru();
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (cache.get(hot, 0)?.value ?? 0)) | 0;
      return sink;
    },
  },
  "lru-miss-evict": {
    describe: "MemoryCache.get miss + set evicting the oldest, full 10,000-entry cache (KV/D1 path)",
    run(n) {
      const { cache } = lru();
      let sink = 0;
      for (let i = 0; i < n; i++) {
        const key = `key:${(lruNext++).toString(16).padStart(64, "0")}`;
        if (cache.get(key, 0) === undefined) cache.set(key, i, 1);
        sink = (sink + i) | 0;
      }
      return sink;
    },
  },
  "kv-entry-check": {
    describe: "KeyStateSchema.safeParse of a parsed KV entry's value (the shape check of a KV hit, zod)",
    run(n) {
      const fx = f();
      const entry = JSON.parse(fx.kvEntryText) as { value: unknown };
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + (KeyStateSchema.safeParse(entry.value).success ? 1 : 0)) | 0;
      return sink;
    },
  },
  "compile-key": {
    describe: "JSON.parse of a KV entry + compileKey (the CPU part of a KV hit)",
    run(n) {
      const fx = f();
      let sink = 0;
      for (let i = 0; i < n; i++) {
        const entry = JSON.parse(fx.kvEntryText) as { value: KeyState };
        sink = (sink + compileKey(entry.value).scopes.length) | 0;
      }
      return sink;
    },
  },
  "error-401": {
    describe: "build the 401 `invalid api key` JSON response (KeygateError.getResponse)",
    run(n) {
      let sink = 0;
      for (let i = 0; i < n; i++) sink = (sink + new KeygateError("UNAUTHORIZED", "invalid api key").getResponse().status) | 0;
      return sink;
    },
  },
};

/** Not in /ops (the timed micro-benchmarks): bench/lib/request-path.mjs profiles these. */
const REQUEST_OPS = requestPathOps(f);

const MAX_N = 2_000_000;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ops") {
      return Response.json(Object.fromEntries(Object.entries(OPS).map(([name, op]) => [name, op.describe])));
    }
    const name = url.searchParams.get("op") ?? "";
    const op = OPS[name] ?? REQUEST_OPS[name as keyof typeof REQUEST_OPS];
    const n = Number(url.searchParams.get("n"));
    if (url.pathname !== "/run" || !op || !Number.isInteger(n) || n < 1 || n > MAX_N) {
      return new Response("usage: /ops or /run?op=<name>&n=<1..2000000>", { status: 400 });
    }
    const sink = await op.run(n);
    return Response.json({ n, sink });
  },
} satisfies ExportedHandler;
