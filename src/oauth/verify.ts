/**
 * @module
 * OAuth access tokens at the edge: verified through the same memory → KV → D1 tiers as API keys,
 * keyed by the token's SHA-256 (never the token). A token is refused from its own `expires_at` on,
 * whatever its cache entry says; revocation drops the entry in this Worker at once and elsewhere
 * within KEY_CACHE_TTL_S.
 */
import { z } from "zod";
import { TieredCache, type CacheContext } from "../cache/tiered";
import { findAccessToken } from "../db/oauth";
import { readDb } from "../db/session";
import type { Bindings } from "../env";
import { OAUTH_PRINCIPAL_DEFAULTS, type Principal } from "../gateway/principal";
import { compileGrants, type GrantSet } from "../gateway/scopes";
import { hashSecret, isSecretOf } from "./token-format";

/** What KV holds for a live access token (no hash, no token); `expires_at` in epoch ms. */
const AccessTokenStateSchema = z.object({
  id: z.string(),
  family_id: z.string(),
  client_id: z.string(),
  user_id: z.string(),
  email: z.string(),
  org_id: z.string(),
  project_id: z.string().nullable(),
  scopes: z.array(z.string()),
  /** Absent in entries cached before resource indicators existed: read as `null`. */
  resource: z.string().nullable().optional(),
  expires_at: z.number(),
});
export type AccessTokenState = z.infer<typeof AccessTokenStateSchema>;

/** A verified access token, as requests use it. */
export interface ActiveToken {
  id: string;
  clientId: string;
  userId: string;
  email: string;
  orgId: string;
  projectId: string | null;
  scopes: readonly string[];
  /**
   * The resource (RFC 8707) the token was minted for: a normalized URL, `null` for none. MCP routes
   * compare it with `isTokenForResource` (./resource.ts) and refuse `null`.
   */
  resource: string | null;
  grants: GrantSet;
  /** Epoch ms; refused from then on. */
  expiresAt: number;
  principal: Principal;
}

function compileToken(state: AccessTokenState): ActiveToken {
  const grants = compileGrants(state.scopes);
  return {
    id: state.id,
    clientId: state.client_id,
    userId: state.user_id,
    email: state.email,
    orgId: state.org_id,
    projectId: state.project_id,
    scopes: state.scopes,
    resource: state.resource ?? null,
    grants,
    expiresAt: state.expires_at,
    principal: { orgId: state.org_id, projectId: state.project_id, grants, ...OAUTH_PRINCIPAL_DEFAULTS },
  };
}

/** Unrevoked access tokens by SHA-256 hex digest. */
export const accessTokenCache = new TieredCache<AccessTokenState, ActiveToken>({
  namespace: "oauth",
  maxEntries: 10_000,
  schema: AccessTokenStateSchema,
  compile: compileToken,
});

/**
 * The access token `raw`, `null` when malformed, unknown, revoked or expired.
 * @param ctx - The request's cache context; its `now` also decides expiry.
 * @throws {KeygateError} `UNAVAILABLE` when D1 is needed and unreachable.
 */
export async function verifyAccessToken(ctx: CacheContext, env: Bindings, raw: string): Promise<ActiveToken | null> {
  if (!isSecretOf("access", raw)) return null;
  const hash = await hashSecret(raw);
  const token = await accessTokenCache.get(ctx, hash, async () => {
    const row = await findAccessToken(readDb(env), hash);
    if (row === null) return null;
    const { id, family_id, client_id, user_id, email, org_id, project_id, scopes, resource, expires_at } = row;
    return { id, family_id, client_id, user_id, email, org_id, project_id, scopes, resource, expires_at };
  });
  return token !== null && ctx.now < token.expiresAt ? token : null;
}

/** Drops revoked access tokens from this isolate's memory and from KV. */
export async function forgetAccessTokens(kv: KVNamespace, hashes: readonly string[]): Promise<void> {
  await Promise.all(hashes.map((hash) => accessTokenCache.invalidate(kv, hash)));
}
