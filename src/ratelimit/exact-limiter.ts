/**
 * @module
 * The `exact` tier: one SQLite-backed Durable Object per counter id (a key's rotation root, or an
 * OAuth (user, client) pair). Its methods run to completion without awaiting, so requests on one
 * counter are decided one at a time and parallel requests can never all see the same count. The
 * counts live in the object's SQLite storage, so eviction or a restart loses none of them.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";
import { QUOTA_POLICY_NAME } from "../schemas/key";
import { type Bucket, decide, expiryOf, monthOf } from "./sliding-window";

export interface ExactLimit {
  name: string;
  limit: number;
  windowMs: number;
  /** Units this request counts against the limit (route cost times the limit's cost). */
  cost: number;
}

export interface CounterRequest {
  limits: readonly ExactLimit[];
  quota: { limit: number; cost: number } | null;
  /** `false` only reads the counters (the admin usage view). */
  count: boolean;
}

export interface CounterState {
  name: string;
  allowed: boolean;
  /** Units counted in the window (or month), this request included when it was counted. */
  used: number;
  remaining: number;
  resetMs: number;
}

export interface CounterResult {
  /** Whether every limit and the quota admitted the request; only then was it counted. */
  allowed: boolean;
  limits: CounterState[];
  quota: CounterState | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS hits (
    name       TEXT NOT NULL,
    window_ms  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    units      INTEGER NOT NULL,
    PRIMARY KEY (name, window_ms, expires_at)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS hits_expiry ON hits (expires_at);
  CREATE TABLE IF NOT EXISTS quota (month TEXT PRIMARY KEY, units INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Expired buckets are never read, so deleting them can wait: one write per request is enough. */
const PRUNE_INTERVAL_MS = 10_000;

export class RateLimiter extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private prunedAt = 0;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  /** Decides a request against every limit and the quota, and counts it only if all admit it. */
  check(request: CounterRequest): CounterResult {
    const now = Date.now();
    if (now - this.prunedAt >= PRUNE_INTERVAL_MS) {
      this.sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
      this.prunedAt = now;
    }
    const limits = request.limits.map((limit) => this.decideLimit(limit, now));
    const quota = request.quota && this.decideQuota(request.quota, now);
    const allowed = limits.every((state) => state.allowed) && (quota?.allowed ?? true);
    const counted = request.count && allowed;
    if (counted) this.count(request, now);
    const report = (state: Decided) => stateOf(state, counted);
    return { allowed, limits: limits.map(report), quota: quota && report(quota) };
  }

  private count(request: CounterRequest, now: number): void {
    for (const limit of request.limits) {
      this.sql.exec(
        `INSERT INTO hits (name, window_ms, expires_at, units) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET units = units + excluded.units`,
        limit.name, limit.windowMs, expiryOf(now, limit.windowMs), limit.cost,
      );
    }
    if (request.quota) {
      const { month } = monthOf(now);
      this.sql.exec("DELETE FROM quota WHERE month <> ?", month);
      this.sql.exec(
        "INSERT INTO quota (month, units) VALUES (?, ?) ON CONFLICT DO UPDATE SET units = units + excluded.units",
        month, request.quota.cost,
      );
    }
  }

  private decideLimit(limit: ExactLimit, now: number): Decided {
    const buckets = this.sql
      .exec<{ expiresAt: number; units: number }>(
        "SELECT expires_at AS expiresAt, units FROM hits WHERE name = ? AND window_ms = ? AND expires_at > ?",
        limit.name, limit.windowMs, now,
      )
      .toArray() as Bucket[];
    return { name: limit.name, cost: limit.cost, ...decide(buckets, limit.limit, limit.windowMs, limit.cost, now) };
  }

  private decideQuota(quota: { limit: number; cost: number }, now: number): Decided {
    const { month, endsAt } = monthOf(now);
    const used = this.sql.exec<{ units: number }>("SELECT units FROM quota WHERE month = ?", month).toArray()[0]?.units ?? 0;
    const allowed = used + quota.cost <= quota.limit;
    return {
      name: QUOTA_POLICY_NAME,
      cost: quota.cost,
      allowed,
      used: allowed ? used + quota.cost : used,
      remaining: Math.max(0, quota.limit - used - (allowed ? quota.cost : 0)),
      resetMs: endsAt - now,
    };
  }
}

type Decided = CounterState & { cost: number };

/** A limit's state as reported: a request that fitted but was not counted gives its cost back. */
function stateOf({ cost, ...state }: Decided, counted: boolean): CounterState {
  if (counted || !state.allowed) return state;
  return { ...state, used: state.used - cost, remaining: state.remaining + cost };
}
