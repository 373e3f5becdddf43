/**
 * @module
 * Control for the KV-hit scenario: the least a KV-backed key check can do. SHA-256 of the
 * `x-api-key`, one `KV.get` of the entry Keygate itself cached for that hash (same namespace, same
 * entries: it runs in Keygate's Miniflare instance), then the same forward. No policy, scopes,
 * restrictions, ids or audit: whatever Keygate's KV-hit scenario costs beyond this is Keygate's.
 * The harness tells it, once, how Keygate names its KV entries (`POST /__bench/prefix`).
 */
interface Env {
  KEY_CACHE: KVNamespace;
  ORIGIN_URL: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

let prefix: string | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/__bench/prefix") {
      prefix = await request.text();
      return new Response(null, { status: 204 });
    }
    if (prefix === undefined) return new Response("KV naming not set", { status: 500 });
    const key = request.headers.get("x-api-key");
    if (!key) return Response.json({ ok: false, message: "missing credentials" }, { status: 401 });
    // Same read as src/cache/tiered.ts: JSON, with cacheTtl.
    const entry = await env.KEY_CACHE.get(prefix + (await sha256Hex(key)), { type: "json", cacheTtl: 60 });
    if (entry === null) return Response.json({ ok: false, message: "invalid api key" }, { status: 401 });
    const headers = new Headers(request.headers);
    headers.delete("x-api-key");
    headers.delete("host");
    return fetch(new URL(url.pathname + url.search, env.ORIGIN_URL), { method: request.method, headers, redirect: "manual" });
  },
} satisfies ExportedHandler<Env>;
