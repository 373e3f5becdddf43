/**
 * @module
 * Peer for the bench: a naive API-key Worker with no cache at all. Every request hashes the
 * `x-api-key` (SHA-256), reads the key's row from D1 by `key_hash`, checks revocation, expiry and
 * the route's scope, then forwards to the same origin. This is what Keygate's tiered cache exists
 * to beat.
 */
interface Env {
  DB: D1Database;
  ORIGIN_URL: string;
}

const REQUIRED_SCOPE = "stories:read";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function deny(status: number, message: string): Response {
  return Response.json({ ok: false, message }, { status });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/api/v1/stories") return deny(404, "no route");
    const key = request.headers.get("x-api-key");
    if (!key) return deny(401, "missing credentials");
    const row = await env.DB.prepare("SELECT scopes, revoked_at, expires_at FROM api_keys WHERE key_hash = ?")
      .bind(await sha256Hex(key))
      .first<{ scopes: string; revoked_at: string | null; expires_at: string | null }>();
    if (!row || row.revoked_at !== null) return deny(401, "invalid api key");
    if (row.expires_at !== null && Date.parse(row.expires_at) <= Date.now()) return deny(401, "api key expired");
    const scopes = JSON.parse(row.scopes) as string[];
    if (!scopes.includes(REQUIRED_SCOPE) && !scopes.includes("*") && !scopes.includes("stories:*")) {
      return deny(403, "insufficient_scope");
    }
    const headers = new Headers(request.headers);
    headers.delete("x-api-key");
    headers.delete("host");
    return fetch(new URL(url.pathname + url.search, env.ORIGIN_URL), { method: request.method, headers, redirect: "manual" });
  },
} satisfies ExportedHandler<Env>;
