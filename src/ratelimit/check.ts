/**
 * @module
 * Deciding one request against a caller's limits: the `approximate` ones on the Rate Limiting
 * binding (fail open), then the `exact` ones and the monthly quota in the caller's Durable Object
 * (fail closed). The object counts the request only when the approximate tier admitted it too, so
 * a refused request never counts there; an approximate limit cannot be refunded, so a request the
 * object refuses has still counted in its location's approximate tally (stricter, never looser).
 */
import type { Bindings } from "../env";
import { KeygateError } from "../errors";
import { QUOTA_POLICY_NAME, type Quota, type RateLimitRule } from "../schemas/key";
import { checkApproximate } from "./approximate";
import type { CounterRequest, CounterResult, CounterState } from "./exact-limiter";
import type { PolicyReport } from "./headers";
import { ceilSeconds, monthOf } from "./sliding-window";

/** Whose counters a request counts against, and the limits that apply. */
export interface LimitSubject {
  /** A key's rotation root id, or `oauth:<user>:<client>`: never key material. */
  counterId: string;
  rateLimits: readonly RateLimitRule[];
  quota: Quota | null;
}

export interface LimitDecision {
  allowed: boolean;
  policies: PolicyReport[];
  /** Names of the policies that refused the request. */
  violated: string[];
  /** Seconds after which every violated policy has room again (0 when allowed). */
  retryAfterS: number;
}

const UNAVAILABLE_RETRY_AFTER_S = "5";

/** Whether `subject` carries any limit at all. */
export function isLimited(subject: LimitSubject): boolean {
  return subject.rateLimits.length > 0 || subject.quota !== null;
}

/**
 * Decides and counts a request of `cost` units (the route's cost).
 * @throws {KeygateError} 503 `UNAVAILABLE` when the exact tier cannot be reached.
 */
export async function checkLimits(env: Bindings, subject: LimitSubject, cost: number): Promise<LimitDecision> {
  const now = Date.now();
  const approximate = subject.rateLimits.filter((limit) => limit.tier === "approximate");
  const approximateStates = await Promise.all(
    approximate.map((limit) => checkApproximate(env, subject.counterId, limit, cost * limit.cost, now)),
  );
  const exact = await readExact(env, subject, cost, approximateStates.every((state) => state.allowed));
  const states = new Map<string, CounterState>([...approximateStates, ...(exact?.limits ?? [])].map((state) => [state.name, state]));
  if (exact?.quota) states.set(QUOTA_POLICY_NAME, exact.quota);

  const policies = reportsOf(subject, states, now);
  const refused = [...states.values()].filter((state) => !state.allowed);
  return {
    allowed: refused.length === 0,
    policies,
    violated: refused.map((state) => state.name),
    retryAfterS: Math.max(0, ...refused.map((state) => ceilSeconds(state.resetMs))),
  };
}

/** The exact tier's counters for `subject` without counting anything (the admin usage view). */
export async function readUsage(env: Bindings, subject: LimitSubject): Promise<CounterResult | null> {
  return readExact(env, subject, 1, false);
}

async function readExact(env: Bindings, subject: LimitSubject, cost: number, count: boolean): Promise<CounterResult | null> {
  const request: CounterRequest = {
    limits: subject.rateLimits
      .filter((limit) => limit.tier === "exact")
      .map((limit) => ({ name: limit.name, limit: limit.limit, windowMs: limit.window_s * 1000, cost: cost * limit.cost })),
    quota: subject.quota && { limit: subject.quota.limit, cost },
    count,
  };
  if (request.limits.length === 0 && request.quota === null) return null;
  try {
    const counter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(subject.counterId));
    return await counter.check(request);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "exact rate limiter unavailable", counter: subject.counterId, error: String(error) }));
    throw new KeygateError("UNAVAILABLE", "rate limiter unavailable", { headers: { "Retry-After": UNAVAILABLE_RETRY_AFTER_S } });
  }
}

function reportsOf(subject: LimitSubject, states: ReadonlyMap<string, CounterState>, now: number): PolicyReport[] {
  const reports: PolicyReport[] = [];
  for (const limit of subject.rateLimits) {
    const state = states.get(limit.name);
    if (state) reports.push({ name: limit.name, quota: limit.limit, windowS: limit.window_s, remaining: state.remaining, resetS: ceilSeconds(state.resetMs) });
  }
  const quota = states.get(QUOTA_POLICY_NAME);
  if (subject.quota && quota) {
    const { startsAt, endsAt } = monthOf(now);
    reports.push({ name: QUOTA_POLICY_NAME, quota: subject.quota.limit, windowS: (endsAt - startsAt) / 1000, remaining: quota.remaining, resetS: ceilSeconds(quota.resetMs) });
  }
  return reports;
}
