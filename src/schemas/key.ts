/**
 * @module
 * API key shapes: the record the admin API returns, and the admin inputs that create or change one.
 * Each input schema validates at runtime and is the static type of the handler's body.
 */
import { z } from "zod";
import { ipRuleIssue, normalizeIpRule } from "../core/ip";
import { normalizeOriginRule, originRuleIssue } from "../core/origin";
import { approximateCapacity, countsApproximately } from "../core/approximate-scale";
import { ScopeOrWildcardSchema } from "./scope";

export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;
const MAX_LIST_ITEMS = 100;

export const RestrictionsModeSchema = z.enum(["enforce", "report"]);

/** An origin's own project id (`product_123`) or a generated `prj_…`. */
export const ProjectIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must match [A-Za-z0-9_-]{1,64}");

export const OrgIdSchema = z.string().regex(/^org_[0-9A-Z]{26}$/, "is not an org id");

/** A display name of an org, project or key. */
/** A query parameter naming up to 100 keys, comma-separated (`key_ids=key_a,key_b`). */
export const KeyIdListSchema = z
  .string()
  .max(100 * 65)
  .transform((ids) => ids.split(",").filter((id) => id !== ""))
  .pipe(z.array(z.string().max(64)).min(1).max(100));

export const NameSchema = z.string().trim().min(1).max(200);

/** ISO 8601 UTC (`Z`), normalized to milliseconds. */
export const TimestampSchema = z.iso.datetime({ offset: false }).transform((s) => new Date(s).toISOString());

const IpRulesSchema = z
  .array(z.string().max(64).superRefine(refineWith(ipRuleIssue)).transform(normalizeIpRule))
  .max(MAX_LIST_ITEMS);

const OriginRulesSchema = z
  .array(z.string().max(256).superRefine(refineWith(originRuleIssue)).transform(normalizeOriginRule))
  .max(MAX_LIST_ITEMS);

const ScopesSchema = z.array(ScopeOrWildcardSchema).max(MAX_LIST_ITEMS);

export const RATE_LIMIT_TIERS = ["approximate", "exact"] as const;
/** The only periods the Workers Rate Limiting binding counts in (see README "Rate limits"). */
export const APPROXIMATE_WINDOWS_S: readonly number[] = [10, 60];
export const MAX_APPROXIMATE_LIMIT = 100_000;
const MAX_RATE_LIMITS = 5;
/** The `RateLimit-Policy` name of the monthly quota, so no rate limit may take it. */
export const QUOTA_POLICY_NAME = "quota";

/**
 * One named limit: at most `limit` units per `window_s` seconds, each request counting the route's
 * cost times `cost`. `name` is an RFC 8941 token-safe string, as it appears in the headers.
 */
export const RateLimitSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must match [a-z0-9][a-z0-9_-]{0,31}")
      .refine((name) => name !== QUOTA_POLICY_NAME, `"${QUOTA_POLICY_NAME}" names the monthly quota`),
    limit: z.number().int().min(1).max(1_000_000),
    window_s: z.number().int().min(1).max(86_400),
    cost: z.number().int().min(1).max(1000).default(1),
    tier: z.enum(RATE_LIMIT_TIERS),
  })
  .superRefine((limit, ctx) => {
    if (limit.tier !== "approximate") return;
    if (!APPROXIMATE_WINDOWS_S.includes(limit.window_s)) {
      ctx.addIssue({ code: "custom", path: ["window_s"], message: "an approximate limit counts per 10 or 60 seconds; use tier exact for other windows" });
    }
    if (limit.limit > MAX_APPROXIMATE_LIMIT) {
      ctx.addIssue({ code: "custom", path: ["limit"], message: `an approximate limit is at most ${MAX_APPROXIMATE_LIMIT}` });
    } else if (!countsApproximately(limit.limit)) {
      ctx.addIssue({
        code: "custom",
        path: ["limit"],
        message: `the approximate tier would count ${limit.limit} as ${approximateCapacity(limit.limit)} per period; use ${approximateCapacity(limit.limit)}, a limit that divides 1000000, or tier exact`,
      });
    }
  });
export type RateLimitRule = z.infer<typeof RateLimitSchema>;

export const RateLimitsSchema = z
  .array(RateLimitSchema)
  .max(MAX_RATE_LIMITS)
  .superRefine((limits, ctx) => {
    const seen = new Set<string>();
    limits.forEach((limit, i) => {
      if (seen.has(limit.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${limit.name}" is named twice` });
      seen.add(limit.name);
    });
  });

/** Units per calendar month (UTC), counted exactly. */
export const QuotaSchema = z.strictObject({
  limit: z.number().int().min(1).max(1_000_000_000),
  period: z.literal("month"),
});
export type Quota = z.infer<typeof QuotaSchema>;

/** The key record of SPEC §8, as stored and returned. */
export const KeyRecordSchema = z.object({
  id: z.string(),
  org_id: z.string(),
  project_id: z.string().nullable(),
  name: z.string(),
  key_prefix: z.string(),
  scopes: z.array(z.string()),
  preset: z.string().nullable(),
  allowed_ips: z.array(z.string()),
  allowed_origins: z.array(z.string()),
  restrictions_mode: RestrictionsModeSchema,
  not_before: z.string().nullable(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
  rotated_from: z.string().nullable(),
  rotated_to: z.string().nullable(),
  rate_limits: z.array(RateLimitSchema),
  quota: QuotaSchema.nullable(),
  /** The first key of its rotation chain: rate-limit counters are kept under this id. */
  rotation_root_id: z.string(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

/** A key's current usage (`GET /keys/:id/usage`); counts are `null` where the tier offers no read. */
export const KeyUsageSchema = z.object({
  rate_limits: z.array(
    RateLimitSchema.and(z.object({ used: z.number().int().nullable(), remaining: z.number().int().nullable(), reset_s: z.number().int().nullable() })),
  ),
  quota: QuotaSchema.extend({ used: z.number().int(), remaining: z.number().int(), reset_s: z.number().int() }).nullable(),
});
export type KeyUsage = z.infer<typeof KeyUsageSchema>;

export const CreateKeyInputSchema = z
  .strictObject({
    org_id: OrgIdSchema.optional(),
    name: NameSchema,
    scopes: ScopesSchema.optional(),
    preset: z.string().min(1).max(100).optional(),
    project_id: ProjectIdSchema.optional(),
    allowed_ips: IpRulesSchema.optional(),
    allowed_origins: OriginRulesSchema.optional(),
    restrictions_mode: RestrictionsModeSchema.optional(),
    not_before: TimestampSchema.optional(),
    expires_at: TimestampSchema.optional(),
    rate_limits: RateLimitsSchema.optional(),
    quota: QuotaSchema.nullable().optional(),
  })
  .superRefine((input, ctx) => {
    if ((input.scopes === undefined) === (input.preset === undefined)) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "give exactly one of scopes or preset" });
    }
    refineWindow(input.not_before, input.expires_at, ctx);
  });

export const UpdateKeyInputSchema = z
  .strictObject({
    name: NameSchema,
    scopes: ScopesSchema,
    allowed_ips: IpRulesSchema,
    allowed_origins: OriginRulesSchema,
    restrictions_mode: RestrictionsModeSchema,
    expires_at: TimestampSchema.nullable(),
    rate_limits: RateLimitsSchema,
    quota: QuotaSchema.nullable(),
  })
  .partial()
  .superRefine((input, ctx) => {
    if (Object.keys(input).length === 0) ctx.addIssue({ code: "custom", path: [], message: "nothing to change" });
    if (input.expires_at) refineWindow(undefined, input.expires_at, ctx);
  });

export const RotateKeyInputSchema = z.strictObject({
  grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional(),
  scopes: ScopesSchema.optional(),
  rate_limits: RateLimitsSchema.optional(),
  quota: QuotaSchema.nullable().optional(),
});

function refineWindow(notBefore: string | undefined, expiresAt: string | undefined, ctx: z.RefinementCtx): void {
  if (expiresAt === undefined) return;
  if (Date.parse(expiresAt) <= Date.now()) {
    ctx.addIssue({ code: "custom", path: ["expires_at"], message: "is in the past" });
  }
  if (notBefore !== undefined && Date.parse(expiresAt) <= Date.parse(notBefore)) {
    ctx.addIssue({ code: "custom", path: ["expires_at"], message: "must be after not_before" });
  }
}

function refineWith(issueOf: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const message = issueOf(value);
    if (message) ctx.addIssue({ code: "custom", message });
  };
}
