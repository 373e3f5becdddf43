/**
 * @module
 * The form of an OAuth access token that requests check against: its cached state, compiled once
 * as it enters the isolate's cache, with the principal it acts as.
 */
import { z } from "zod";
import { compileGrants, type GrantSet } from "../core/scopes";
import { OAUTH_PRINCIPAL_DEFAULTS, type Principal } from "./principal";

/** What KV holds for a live access token (no hash, no token); `expires_at` in epoch ms. */
export const AccessTokenStateSchema = z.object({
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
   * compare it with `isTokenForResource` (../core/resource-indicator.ts) and refuse `null`.
   */
  resource: string | null;
  grants: GrantSet;
  /** Epoch ms; refused from then on. */
  expiresAt: number;
  principal: Principal;
}

export function compileToken(state: AccessTokenState): ActiveToken {
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
