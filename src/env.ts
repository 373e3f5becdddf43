/**
 * @module
 * Worker bindings and the configuration derived from them once per isolate.
 */
import type { KeyEnv } from "./core/api-key";
import { oncePer } from "./core/memo";

/**
 * Bindings and vars: `Env` is generated from wrangler.toml (`npm run cf-typegen`, checked in CI);
 * secrets and the vars wrangler.toml leaves unset are typed here.
 */
export interface Bindings extends Omit<Env, "AUDIT_QUEUE" | "KEY_ENV" | "KEY_CACHE_TTL_S" | "AUDIT_RETENTION_DAYS" | "AUDIT_HOT_DAYS"> {
  /** Each message is the JSON text of an `AuditMessage` (src/audit/producer.ts). */
  AUDIT_QUEUE: Queue<string>;
  KEY_ENV?: string;
  KEY_CACHE_TTL_S?: string;
  AUDIT_RETENTION_DAYS?: string;
  AUDIT_HOT_DAYS?: string;
  AUDIT_HOT_MAX_EVENTS?: string;
  /** Optional: the audit tables' own D1 database; without it they live in DB (src/db/audit-db.ts). */
  AUDIT_DB?: D1Database;
  /** Secret: the operator's admin API token (and its successor during rotation). */
  ADMIN_TOKEN?: string;
  ADMIN_TOKEN_NEXT?: string;
  ORIGIN_URL?: string;
  /** A service binding to the origin Worker (SPEC §6); used instead of fetching ORIGIN_URL. */
  ORIGIN_SERVICE?: Fetcher;
  /** Secret: one HMAC key, or two comma-separated during rotation. */
  ORIGIN_SECRET?: string;
  ORIGIN_TIMEOUT_MS?: string;
  /** Bodies up to this size are digested for signature v2; larger ones stream with v1 only. */
  ORIGIN_DIGEST_MAX_BYTES?: string;
  /** Local development only (`npm run dev` writes it to .dev.vars); never in wrangler.toml. */
  ECHO?: string;
  POLICY?: string;
  SESSION_COOKIE?: string;
  /** Secret: signs session cookies (better-auth). */
  BETTER_AUTH_SECRET?: string;
  /** The Worker's public URL; `https://` makes session cookies `Secure` (`__Secure-` names). */
  BETTER_AUTH_URL?: string;
  /** Who may register: `open`, `invite` (default: emails with a pending invitation) or `closed`. */
  SIGNUP?: string;
  /** How many orgs a user may belong to when creating one (default 5). */
  ORG_LIMIT?: string;
  /** `off`: signed-in users cannot create orgs (only ADMIN_TOKEN can). */
  USER_ORGS?: string;
}

export type SignupMode = "open" | "invite" | "closed";

/** Settings read from vars, validated once per isolate (per distinct env object). */
export interface Config {
  keyEnv: KeyEnv;
  keyCacheTtlSeconds: number;
  adminTokens: readonly string[];
  originUrl: URL | undefined;
  /** ORIGIN_SERVICE; when set, allowed requests go to it (ORIGIN_URL then only names the URL it sees). */
  originService: Fetcher | undefined;
  originSecrets: readonly string[];
  originTimeoutMs: number;
  originDigestMaxBytes: number;
  echo: boolean;
  /** The session cookie names that count (SPEC §1): the one better-auth sets, plus SESSION_COOKIE. */
  sessionCookieNames: readonly string[];
  /** Every session cookie name, also the one better-auth does not set here: never forwarded. */
  strippedCookieNames: readonly string[];
  /** Whether better-auth sets `Secure` cookies with `__Secure-` names: BETTER_AUTH_URL is https. */
  secureCookies: boolean;
  signup: SignupMode;
  /** better-auth's organizationLimit: the most orgs a user may belong to and still create one. */
  orgLimit: number;
  /** Whether signed-in users may create orgs. */
  userOrgs: boolean;
  /** BETTER_AUTH_SECRET; sessions and `/_keygate/auth` need it. */
  authSecret: string | undefined;
  /** BETTER_AUTH_URL; without it better-auth takes the URL of each request. */
  authUrl: string | undefined;
}

const MAX_KEY_CACHE_TTL_S = 60;
const DEFAULT_ORIGIN_TIMEOUT_MS = 30_000;
const SESSION_COOKIE = "better-auth.session_token";
const SECURE_PREFIX = "__Secure-";
const SIGNUP_MODES: readonly string[] = ["open", "invite", "closed"] satisfies SignupMode[];
const DEFAULT_ORG_LIMIT = 5;
// Held in memory while hashed (the isolate has 128 MB for all its requests).
const DEFAULT_ORIGIN_DIGEST_MAX_BYTES = 1024 * 1024;
const MAX_ORIGIN_DIGEST_MAX_BYTES = 16 * 1024 * 1024;

/** Returns the isolate's config for `env`, parsing the vars on first use. */
export const getConfig: (env: Bindings) => Config = oncePer(parseConfig);

function parseConfig(env: Bindings): Config {
  const keyEnv = (env.KEY_ENV ?? "live") as KeyEnv;
  if (keyEnv !== "live" && keyEnv !== "test") throw new TypeError(`KEY_ENV must be "live" or "test"`);
  const signup = env.SIGNUP || "invite";
  if (!SIGNUP_MODES.includes(signup)) throw new TypeError(`SIGNUP must be "open", "invite" or "closed"`);
  if (env.USER_ORGS && env.USER_ORGS !== "on" && env.USER_ORGS !== "off") throw new TypeError(`USER_ORGS must be "on" or "off"`);
  const secureCookies = env.BETTER_AUTH_URL?.startsWith("https://") ?? false;
  const betterAuthCookie = secureCookies ? SECURE_PREFIX + SESSION_COOKIE : SESSION_COOKIE;
  const extraCookie = env.SESSION_COOKIE ? [env.SESSION_COOKIE] : [];
  return {
    keyEnv,
    keyCacheTtlSeconds: boundedInt(env.KEY_CACHE_TTL_S, MAX_KEY_CACHE_TTL_S, 1, MAX_KEY_CACHE_TTL_S),
    adminTokens: [env.ADMIN_TOKEN, env.ADMIN_TOKEN_NEXT].filter(isNonEmpty),
    originUrl: env.ORIGIN_URL ? new URL(env.ORIGIN_URL) : undefined,
    originService: env.ORIGIN_SERVICE,
    originSecrets: (env.ORIGIN_SECRET ?? "").split(",").map((s) => s.trim()).filter(isNonEmpty),
    originTimeoutMs: boundedInt(env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS, 100, 300_000),
    originDigestMaxBytes: boundedInt(env.ORIGIN_DIGEST_MAX_BYTES, DEFAULT_ORIGIN_DIGEST_MAX_BYTES, 0, MAX_ORIGIN_DIGEST_MAX_BYTES),
    echo: env.ECHO === "1" || env.ECHO === "true",
    sessionCookieNames: [betterAuthCookie, ...extraCookie],
    strippedCookieNames: [SESSION_COOKIE, SECURE_PREFIX + SESSION_COOKIE, ...extraCookie],
    secureCookies,
    signup: signup as SignupMode,
    orgLimit: boundedInt(env.ORG_LIMIT, DEFAULT_ORG_LIMIT, 1, 1000),
    userOrgs: env.USER_ORGS !== "off",
    authSecret: env.BETTER_AUTH_SECRET || undefined,
    authUrl: env.BETTER_AUTH_URL || undefined,
  };
}

/**
 * Settings a deployment lacks for part of its surface, each named with what stops working;
 * `/_keygate/health` reports them (status `degraded`).
 */
export function configProblems(config: Config): string[] {
  const problems: string[] = [];
  if (!config.originUrl && !config.originService && !config.echo) {
    problems.push("ORIGIN_URL is not set (nor ORIGIN_SERVICE): allowed requests answer 502");
  }
  if (!config.authSecret) problems.push(MISSING_AUTH_SECRET);
  return problems;
}

export const MISSING_AUTH_SECRET = "BETTER_AUTH_SECRET is not set: sessions and /_keygate/auth are unavailable";

function boundedInt(raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`expected an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function isNonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}
