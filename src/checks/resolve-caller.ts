/**
 * @module
 * Resolves the request's credential to a caller (SPEC §1, §2): API keys and dashboard sessions
 * and OAuth access tokens through the tiered cache; ADMIN_TOKEN where the admin API accepts it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { type Bindings, getConfig } from "../env";
import type { CacheContext } from "../cache/tiered";
import type { KeygateError } from "../errors";
import { readDb } from "../db/session";
import { findKeyByHash } from "../db/keys";
import { toKeyState, type ActiveKey } from "../caller/active-key";
import { keyCache } from "../credentials/key-cache";
import { hashApiKey, keyPrefix, parseApiKey } from "../core/api-key";
import { cacheContext } from "../http/cache-context";
import { unauthorized } from "../http/challenge";
import type { Caller } from "../caller/caller";
import type { AnyChainEnv, CallerVariables, KeygateEnv, MatchRouteVariables } from "../http/context";
import { readCredential } from "../http/read-credential";
import { isTokenForResource } from "../core/resource-indicator";
import { verifyAccessToken } from "../credentials/access-tokens";

/** What `resolveCaller` reads (the route, where `matchRoute` ran before it) and sets (the caller). */
type ResolveCallerEnv = { Bindings: Bindings; Variables: KeygateEnv["Variables"] & CallerVariables & Partial<MatchRouteVariables> };

export interface ResolveCallerOptions {
  /** Whether a request without any credential may pass as `anonymous` (public routes). */
  allowAnonymous(c: Context<ResolveCallerEnv>): boolean;
  /** Whether `Authorization: Bearer <ADMIN_TOKEN>` is accepted (the admin API only). */
  acceptAdminToken: boolean;
  /**
   * Verifies dashboard session cookies (Keygate's own Worker passes better-auth's,
   * src/auth/session.ts). Without it session cookies are not credentials: they are ignored.
   */
  verifySession?: SessionVerifier;
}

/**
 * The user behind a session cookie's value, `null` for a forged, unknown or expired one. Injected
 * rather than imported, so these checks (and keygate/hono) never load better-auth.
 */
export type SessionVerifier = (
  ctx: CacheContext,
  env: Bindings,
  cookieValue: string,
) => Promise<Pick<Extract<Caller, { kind: "session" }>, "userId" | "activeOrgId"> | null>;

/**
 * Sets `c.var.caller`.
 * @throws {KeygateError} 401 for a missing or invalid credential, 503 when the key, token or
 *   session store is down.
 */
export function resolveCaller(options: ResolveCallerOptions): MiddlewareHandler<ResolveCallerEnv> {
  return async function resolveCallerMiddleware(c, next) {
    c.set("caller", await callerOf(c, options));
    await next();
  };
}

async function callerOf(c: Context<ResolveCallerEnv>, options: ResolveCallerOptions): Promise<Caller> {
  const config = getConfig(c.env);
  const credential = readCredential(c.req.raw.headers, options.verifySession ? config.sessionCookieNames : []);
  switch (credential.kind) {
    case "none":
      if (options.allowAnonymous(c)) return { kind: "anonymous" };
      throw unauthorized(c, "missing credentials");
    case "api_key": {
      c.set("decider", "api_key");
      const key = await lookupApiKey(c, credential.value);
      if (!key) throw invalidApiKey(c);
      return { kind: "api_key", key };
    }
    case "bearer": {
      if (credential.value === null) {
        c.set("decider", "oauth");
        throw unauthorized(c, "invalid token");
      }
      if (options.acceptAdminToken && (await isAdminToken(credential.value, config.adminTokens))) {
        c.set("decider", "admin");
        return { kind: "admin" };
      }
      c.set("decider", "oauth");
      const token = await verifyAccessToken(cacheContext(c), c.env, credential.value);
      // RFC 8707: a token minted for a resource (an MCP route's URL) is good there only, and an MCP
      // route takes only tokens minted for it (SPEC §10).
      const forThisResource = token && (token.resource !== null ? isTokenForResource(token, resourceOf(c.req.url)) : !c.get("route")?.route.mcp);
      if (!token || !forThisResource) throw unauthorized(c, "invalid token");
      return { kind: "oauth", token };
    }
    case "session": {
      c.set("decider", "session");
      const session = credential.value !== null ? await options.verifySession?.(cacheContext(c), c.env, credential.value) : null;
      if (!session) throw unauthorized(c, "invalid session");
      return { kind: "session", ...session };
    }
  }
}

/** The resource a request is for: its URL without query or fragment. */
function resourceOf(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** The active key for a raw key, `null` when malformed, of the other env or unknown. */
async function lookupApiKey(c: Context<ResolveCallerEnv>, raw: string): Promise<ActiveKey | null> {
  const parsed = parseApiKey(raw, getConfig(c.env).keyEnv);
  if (!parsed.ok) {
    if (parsed.wellFormed) c.set("keyPrefix", keyPrefix(raw));
    return null;
  }
  c.set("keyPrefix", parsed.prefix);
  const hash = await hashApiKey(parsed.key);
  return keyCache.get(cacheContext(c), hash, async () => {
    const stored = await findKeyByHash(readDb(c.env), hash);
    return stored ? toKeyState(stored.record) : null;
  });
}

/** A 401 `invalid api key`. */
export function invalidApiKey<E extends AnyChainEnv>(c: Context<E>): KeygateError {
  return unauthorized(c, "invalid api key");
}

async function isAdminToken(token: string, adminTokens: readonly string[]): Promise<boolean> {
  let match = false;
  for (const adminToken of adminTokens) {
    if (await timingSafeEqual(token, adminToken)) match = true;
  }
  return match;
}
