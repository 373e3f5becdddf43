/**
 * @module
 * API key shapes: the record the admin API returns, and the admin inputs that create or change one.
 * Each input schema validates at runtime and is the static type of the handler's body.
 */
import { z } from "zod";
import { ipRuleIssue, normalizeIpRule, normalizeOriginRule, originRuleIssue } from "../gateway/network";
import { ScopeOrWildcardSchema } from "./scope";

export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;
const MAX_LIST_ITEMS = 100;

export const RestrictionsModeSchema = z.enum(["enforce", "report"]);

/** An origin's own project id (`product_123`) or a generated `prj_…`. */
export const ProjectIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must match [A-Za-z0-9_-]{1,64}");

export const OrgIdSchema = z.string().regex(/^org_[0-9A-Z]{26}$/, "is not an org id");

/** A display name of an org, project or key. */
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
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

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
  })
  .partial()
  .superRefine((input, ctx) => {
    if (Object.keys(input).length === 0) ctx.addIssue({ code: "custom", path: [], message: "nothing to change" });
    if (input.expires_at) refineWindow(undefined, input.expires_at, ctx);
  });

export const RotateKeyInputSchema = z.strictObject({
  grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional(),
  scopes: ScopesSchema.optional(),
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
