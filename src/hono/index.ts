/**
 * @module
 * `keygate/hono`: Keygate's checks as middleware for another team's Hono app on Workers, on the
 * same D1 schema, KV key cache, audit Queue and policy format as Keygate's own Worker. The checks
 * are the gateway's own (../checks/request-checks.ts, which src/gateway/index.ts runs too), minus
 * what only a proxy needs (forwarding) and what needs Keygate's dashboard (session cookies, MCP
 * routes).
 *
 * Default deny: a request that `keygate` sees and that no policy route matches is a 404 `no route`
 * before any credential is read, so a handler someone forgot to list is never reached through it.
 */
import type { Env, MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { auditRequests } from "../audit/record";
import { exposeIdentity, type IdentityVariables } from "../checks/expose-identity";
import { policyCors } from "../checks/policy-cors";
import { requestChecks } from "../checks/request-checks";
import { requireScopes as requireScopesOf } from "../checks/require-scopes";
import { oncePer } from "../core/memo";
import type { CatalogScope as ScopeOfCatalog } from "../core/scope-grammar";
import { handleError, KeygateError } from "../errors";
import type { KeygateEnv } from "../http/context";
import { assignRequestId } from "../http/request-id";
import { type CompiledPolicy, compilePolicy } from "../policy/compile";

export type { KeygateIdentity } from "../origin/identity";
export { KeygateError } from "../errors";

/**
 * The bindings and vars the checks read, under the names Keygate's own wrangler.toml gives them:
 * bind the Keygate deployment's D1 database, KV namespace and audit queue to the app under these.
 */
export interface KeygateBindings {
  /** Keygate's D1 database (keys, projects, OAuth tokens), migrated from Keygate's migrations/. */
  DB: D1Database;
  /** Keygate's KV namespace of cached keys. */
  KEY_CACHE: KVNamespace;
  /** Keygate's audit queue; Keygate's Worker consumes it. */
  AUDIT_QUEUE: Queue;
  /** `live` (default) or `test`: keys of the other env are refused. */
  KEY_ENV?: string;
  /** How long a key stays cached, in seconds (default and maximum 60). */
  KEY_CACHE_TTL_S?: string;
  /** Keygate's `exact` rate-limit Durable Object (`script_name = "keygate"`); keys with exact limits get 503 without it. */
  RATE_LIMITER?: DurableObjectNamespace;
  /** The Rate Limiting bindings of `approximate` limits (they fail open when absent). */
  RATE_LIMIT_10S?: RateLimit;
  RATE_LIMIT_60S?: RateLimit;
}

/** What the checks give the app's handlers: `c.var.identity`, the fields an origin behind the gateway receives as `x-keygate-*` headers. */
export type KeygateVariables = IdentityVariables;

export interface KeygateHonoEnv {
  Bindings: KeygateBindings;
  Variables: KeygateVariables;
}

/** A policy in Keygate's format (SPEC §5), e.g. an imported policy.json; validated by {@link createKeygate}. */
export interface KeygatePolicy {
  scopes: Record<string, string>;
  [field: string]: unknown;
}

/** The scopes of a policy's catalog: what `requireScopes` accepts. */
export type CatalogScope<P extends KeygatePolicy> = ScopeOfCatalog<P["scopes"]>;

export interface KeygateOptions<P extends KeygatePolicy> {
  policy: P;
}

export interface Keygate<P extends KeygatePolicy> {
  /**
   * Resolves the caller (API key or OAuth access token), enforces revocation, validity, IP and
   * Origin allowlists, the matched policy route's project and scopes and the caller's rate limits,
   * sets `c.var.identity`, and leaves one audit event per request.
   */
  keygate: MiddlewareHandler<KeygateHonoEnv>;
  /** Lets a request through only when the caller holds every one of `scopes`; runs after `keygate`. */
  requireScopes(...scopes: CatalogScope<P>[]): MiddlewareHandler<KeygateHonoEnv>;
}

/**
 * Compiles `policy` once and returns the middleware.
 * @throws {TypeError} when the policy does not validate, or has MCP routes (their per-message
 *   checks exist only in Keygate's gateway).
 * @example
 * const { keygate, requireScopes } = createKeygate({ policy });
 * app.use("/api/*", keygate);
 * app.get("/api/stories", requireScopes("stories:read"), (c) => c.json(c.var.identity));
 */
export function createKeygate<const P extends KeygatePolicy>(options: KeygateOptions<P>): Keygate<P> {
  const policy = compiled(options.policy);
  const policyOf = () => policy;
  const checks = every(
    requireBindings(),
    policyCors(policyOf),
    ...requestChecks({ policyOf }),
    exposeIdentity() as unknown as MiddlewareHandler<KeygateEnv>,
  );
  const keygate = every(assignRequestId(), auditRequests(), answerDenials(checks));
  return {
    keygate: keygate as unknown as MiddlewareHandler<KeygateHonoEnv>,
    requireScopes: (...scopes) => answerDenials(requireScopesOf<CatalogScope<P>>(scopes)) as unknown as MiddlewareHandler<KeygateHonoEnv>,
  };
}

function compiled(policy: KeygatePolicy): CompiledPolicy {
  let result: CompiledPolicy;
  try {
    result = compilePolicy(policy);
  } catch (error) {
    throw new TypeError(`keygate: ${error instanceof Error ? error.message : String(error)}`);
  }
  const mcp = result.routes.find((route) => route.mcp);
  if (mcp) throw new TypeError(`keygate: route ${mcp.path} has mcp checks, which only Keygate's gateway enforces`);
  return result;
}

const REQUIRED_BINDINGS = ["DB", "KEY_CACHE", "AUDIT_QUEUE"] as const satisfies readonly (keyof KeygateBindings)[];

/** The required bindings an env lacks (Hono's `app.use` does not check an app's `Env` against the middleware's). */
const missingBindings = oncePer((env: object): string[] =>
  REQUIRED_BINDINGS.filter((name) => (env as Partial<KeygateBindings>)[name] === undefined),
);

/**
 * Fails closed, naming them, when the Worker lacks a binding the checks read: without DB every
 * request would be a 503, without KEY_CACHE or AUDIT_QUEUE the checks would run degraded unnoticed.
 */
function requireBindings(): MiddlewareHandler<KeygateEnv> {
  return async function requireBindingsMiddleware(c, next) {
    const missing = missingBindings(c.env ?? {});
    if (missing.length > 0) throw new KeygateError("INTERNAL", `keygate: the Worker has no ${missing.join(", ")} binding`);
    await next();
  };
}

/**
 * Answers a check's denial with Keygate's contract body, whatever `onError` the app has, and
 * leaves the error on `c.error` for the audit event. Errors after the app's handler ran are the app's.
 */
function answerDenials<E extends Env>(check: MiddlewareHandler<E>): MiddlewareHandler<E> {
  return async function answerDenialsMiddleware(c, next) {
    let handed = false;
    try {
      return await check(c, () => {
        handed = true;
        return next();
      });
    } catch (error) {
      if (handed || !(error instanceof Error)) throw error;
      c.error = error;
      c.res = await handleError(error, c);
    }
  };
}
