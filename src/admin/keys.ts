/**
 * @module
 * `/_keygate/v1/keys`: create (the raw key is returned once), list, get, change, rotate, revoke.
 * Every change invalidates the key's cache entry in this isolate and in KV before it answers.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { auditDb } from "../db/audit-db";
import { countRequestsByKey } from "../db/audit-rollups";
import { findKeyById, insertKey, listKeys, revokeKey, rotateKey, updateKey, type KeyChanges, type StoredKey } from "../db/keys";
import { orgExists, projectExists } from "../db/orgs";
import { getConfig } from "../env";
import { KeygateError } from "../errors";
import { keyCache } from "../credentials/key-cache";
import { generateApiKey, hashApiKey, keyPrefix } from "../core/api-key";
import { creatorProject, earliest, expiryIssue, restrictionIssues } from "../caller/key-minting";
import type { AdminChange, CallerEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { requireScopes } from "../checks/require-scopes";
import { catalogIssues, compileGrants, exceedingScopes, expandPreset, normalizeScopes } from "../core/scopes";
import { newId } from "../core/ids";
import {
  CreateKeyInputSchema,
  KeyIdListSchema,
  OrgIdSchema,
  ProjectIdSchema,
  RotateKeyInputSchema,
  UpdateKeyInputSchema,
  type KeyRecord,
  type Quota,
  type RateLimitRule,
} from "../schemas/key";
import { looserLimits, type Limits } from "../ratelimit/narrowing";
import { keyUsage } from "../ratelimit/usage";
import type { AdminAction } from "../schemas/audit-event";
import { KeyStateSchema } from "../schemas/key-state";
import { ScopeOrWildcardSchema } from "../schemas/scope";
import { actingOrg, actingProject, assertCovers, callerPrincipal, fieldChanges, canSeeProject, notFound, recordChange } from "./actor";
import { readJson, readQuery } from "../http/input";
import { page, PageQuerySchema } from "./pagination";

export const keys = new Hono<CallerEnv>();

const DAY_MS = 86_400_000;

export const KeyListQuerySchema = PageQuerySchema.extend({
  org_id: OrgIdSchema.optional(),
  project_id: ProjectIdSchema.optional(),
  state: KeyStateSchema.optional(),
  scope: ScopeOrWildcardSchema.optional(),
  prefix: z.string().regex(/^[A-Za-z0-9_]{1,12}$/, "is not the start of a key prefix").optional(),
  ids: KeyIdListSchema.optional(),
});

keys.post("/", requireScopes(["keygate:keys:write"]), async (c) => {
  const input = await readJson(c, CreateKeyInputSchema);
  const creator = callerPrincipal(c);
  const orgId = actingOrg(c, input.org_id, true);
  if (!(await orgExists(c.env.DB, orgId))) throw notFound();

  const catalog = loadPolicy(c.env).catalog;
  const scopes = input.preset !== undefined ? expandPreset(input.preset, catalog) : normalizeScopes(input.scopes ?? []);
  if (scopes === undefined) throw KeygateError.badRequest([{ path: "preset", message: `"${input.preset}" is not a preset` }]);
  assertGrantable(c, scopes, "scopes");
  assertReportModeAllowed(c, input.restrictions_mode);

  const projectId = creatorProject(creator?.projectId ?? null, input.project_id);
  if (projectId !== null && !(await projectExists(c.env.DB, orgId, projectId))) throw notFound();

  const expiresAt = input.expires_at ?? earliest(null, creator?.expiresAt ?? null);
  assertWithinCreatorExpiry(c, expiresAt);

  const allowedIps = input.allowed_ips ?? creator?.ipRules ?? [];
  const allowedOrigins = input.allowed_origins ?? creator?.originRules ?? [];
  assertRestrictionsWithinCaller(c, allowedIps, allowedOrigins);

  const presetLimits = input.preset === undefined ? undefined : loadPolicy(c.env).presetLimits[input.preset];
  const limits: Limits = {
    rateLimits: input.rate_limits ?? (presetLimits?.rate_limits.length ? presetLimits.rate_limits : creator?.rateLimits ?? []),
    quota: input.quota !== undefined ? input.quota : (presetLimits?.quota ?? creator?.quota ?? null),
  };
  assertLimitsWithin(limits, creator);

  const { stored, raw } = await issueKey(c, {
    org_id: orgId,
    project_id: projectId,
    name: input.name,
    scopes,
    preset: input.preset ?? null,
    allowed_ips: [...allowedIps],
    allowed_origins: [...allowedOrigins],
    restrictions_mode: input.restrictions_mode ?? "enforce",
    not_before: input.not_before ?? null,
    expires_at: expiresAt,
    rotated_from: null,
    rate_limits: [...limits.rateLimits],
    quota: limits.quota,
  });
  // A new hash cannot be in any cache yet: nothing to invalidate.
  await insertKey(c.env.DB, stored);
  recordChange(c, { action: "key.create", targetId: stored.record.id, orgId, projectId, changes: fieldChanges(null, stored.record, AUDITED_KEY_FIELDS) });
  return c.json({ ok: true, data: { ...stored.record, key: raw } }, 201);
});

keys.get("/", requireScopes(["keygate:keys:read"]), async (c) => {
  const query = readQuery(c, KeyListQuerySchema);
  const rows = await listKeys(c.env.DB, {
    orgId: actingOrg(c, query.org_id),
    projectId: actingProject(c, query.project_id),
    state: query.state,
    scope: query.scope,
    prefix: query.prefix,
    ids: query.ids,
    beforeId: query.cursor,
    limit: query.limit + 1,
  });
  const { data, next_cursor } = page(rows, query.limit, (row) => row.id);
  // From the minute rollups: the cost of a key list does not grow with the keys' traffic.
  const since = new Date(Date.now() - DAY_MS).toISOString();
  const counts = await countRequestsByKey(auditDb(c.env), data.map((row) => row.id), since);
  return c.json({ ok: true, data: data.map((row) => ({ ...row, requests_24h: counts.get(row.id) ?? 0 })), next_cursor });
});

keys.get("/:id", requireScopes(["keygate:keys:read"]), async (c) => {
  const target = await visibleKey(c);
  return c.json({ ok: true, data: target.record });
});

keys.get("/:id/usage", requireScopes(["keygate:keys:read"]), async (c) => {
  const target = await visibleKey(c);
  return c.json({ ok: true, data: await keyUsage(c.env, target.record) });
});

keys.patch("/:id", requireScopes(["keygate:keys:write"]), async (c) => {
  const input = await readJson(c, UpdateKeyInputSchema);
  const target = await visibleKey(c);
  assertCovers(c, target.record.scopes);
  if (target.record.revoked_at !== null) throw conflict("the key is revoked");
  if (input.expires_at !== undefined && isExpired(target.record)) throw conflict("an expired key cannot be extended");
  if (input.expires_at !== undefined && target.record.rotated_to !== null) {
    throw conflict("a rotated key's expiry is set by its rotation; change the successor instead");
  }
  if (input.expires_at && target.record.not_before !== null && Date.parse(input.expires_at) <= Date.parse(target.record.not_before)) {
    throw KeygateError.badRequest([{ path: "expires_at", message: "must be after not_before" }]);
  }
  if (input.allowed_ips !== undefined || input.allowed_origins !== undefined) {
    assertRestrictionsWithinCaller(c, input.allowed_ips ?? target.record.allowed_ips, input.allowed_origins ?? target.record.allowed_origins);
  }

  const changes: KeyChanges = { ...input };
  if (input.scopes !== undefined) {
    changes.scopes = normalizeScopes(input.scopes);
    changes.preset = null;
    assertGrantable(c, changes.scopes, "scopes");
  }
  assertReportModeAllowed(c, input.restrictions_mode);
  if (input.expires_at !== undefined) assertWithinCreatorExpiry(c, input.expires_at);
  if (input.rate_limits !== undefined || input.quota !== undefined) {
    assertLimitsWithin(limitsOf(target.record, input), callerPrincipal(c));
  }

  const updated = await updateKey(c.env.DB, target.record.id, changes);
  recordChange(c, changeOf("key.update", target.record, updated?.record));
  await keyCache.invalidate(c.env.KEY_CACHE, target.hash);
  return c.json({ ok: true, data: updated?.record });
});

keys.post("/:id/rotate", requireScopes(["keygate:keys:write"]), async (c) => {
  const input = await readJson(c, RotateKeyInputSchema, { optional: true });
  const old = await visibleKey(c);
  assertCovers(c, old.record.scopes);
  if (old.record.revoked_at !== null) throw conflict("the key is revoked");
  if (old.record.rotated_to !== null) throw conflict("the key was already rotated");
  if (isExpired(old.record)) throw conflict("an expired key cannot be rotated");

  const scopes = input.scopes === undefined ? old.record.scopes : normalizeScopes(input.scopes);
  const widening = exceedingScopes(scopes, compileGrants(old.record.scopes));
  if (widening.length > 0) {
    throw KeygateError.badRequest(widening.map((scope) => ({ path: "scopes", message: `"${scope}" is not held by the rotated key` })));
  }
  assertGrantable(c, scopes, "scopes");
  // The caller receives the successor's raw key, so it must not get more than it could create.
  assertRestrictionsWithinCaller(c, old.record.allowed_ips, old.record.allowed_origins);
  const limits = limitsOf(old.record, input);
  assertLimitsWithin(limits, limitsOf(old.record, {}));
  assertLimitsWithin(limits, callerPrincipal(c));

  const { stored, raw } = await issueKey(c, {
    ...old.record,
    scopes,
    preset: input.scopes === undefined ? old.record.preset : null,
    expires_at: earliest(old.record.expires_at, callerPrincipal(c)?.expiresAt ?? null),
    rotated_from: old.record.id,
    rate_limits: [...limits.rateLimits],
    quota: limits.quota,
  });
  const graceEnd = Date.now() + (input.grace_seconds ?? 0) * 1000;
  const oldExpiry = old.record.expires_at === null ? graceEnd : Math.min(graceEnd, Date.parse(old.record.expires_at));
  if (!(await rotateKey(c.env.DB, { id: old.record.id, expiresAt: new Date(oldExpiry).toISOString() }, stored))) {
    throw conflict("the key was revoked or rotated concurrently");
  }
  recordChange(c, changeOf("key.rotate", old.record, (await findKeyById(c.env.DB, undefined, old.record.id))?.record));
  await keyCache.invalidate(c.env.KEY_CACHE, old.hash);
  return c.json({ ok: true, data: { ...stored.record, key: raw } }, 201);
});

keys.delete("/:id", requireScopes(["keygate:keys:write"]), async (c) => {
  const target = await visibleKey(c);
  assertCovers(c, target.record.scopes);
  await revokeKey(c.env.DB, target.record.id, new Date().toISOString());
  const revoked = await findKeyById(c.env.DB, undefined, target.record.id);
  recordChange(c, changeOf("key.revoke", target.record, revoked?.record));
  await keyCache.invalidate(c.env.KEY_CACHE, target.hash);
  return c.json({ ok: true, data: revoked?.record });
});

type KeySettings = Pick<
  KeyRecord,
  | "org_id"
  | "project_id"
  | "name"
  | "scopes"
  | "preset"
  | "allowed_ips"
  | "allowed_origins"
  | "restrictions_mode"
  | "not_before"
  | "expires_at"
  | "rotated_from"
  | "rate_limits"
  | "quota"
> & {
  /** A successor's counters stay its predecessor's; a new key starts its own chain. */
  rotation_root_id?: string;
};

/** A new key for `settings`: the stored record (hash only) and the raw key, to be shown once. */
async function issueKey(c: Context<CallerEnv>, settings: KeySettings): Promise<{ stored: StoredKey; raw: string }> {
  const raw = generateApiKey(getConfig(c.env).keyEnv);
  const id = newId("key");
  const record: KeyRecord = {
    ...settings,
    id,
    rotation_root_id: settings.rotation_root_id ?? id,
    key_prefix: keyPrefix(raw),
    last_used_at: null,
    created_at: new Date().toISOString(),
    revoked_at: null,
    rotated_to: null,
  };
  return { stored: { record, hash: await hashApiKey(raw) }, raw };
}

/** The key named by `:id` if the caller may see it, else 404. */
async function visibleKey(c: Context<CallerEnv>): Promise<StoredKey> {
  const target = await findKeyById(c.env.DB, actingOrg(c, undefined), c.req.param("id") ?? "");
  if (!target || !canSeeProject(c, target.record.project_id)) throw notFound();
  return target;
}

/** Scopes must come from the catalog, and a key caller must hold them itself. */
function assertGrantable(c: Context<CallerEnv>, scopes: readonly string[], path: string): void {
  const bad = catalogIssues(scopes, loadPolicy(c.env).catalog);
  if (bad.length > 0) {
    throw KeygateError.badRequest(bad.map((scope) => ({ path, message: `"${scope}" is not a catalog scope or a wildcard covering one` })));
  }
  assertCovers(c, scopes);
}

function assertRestrictionsWithinCaller(c: Context<CallerEnv>, ips: readonly string[], origins: readonly string[]): void {
  const issues = restrictionIssues(callerPrincipal(c), ips, origins);
  if (issues.length > 0) throw KeygateError.badRequest(issues);
}

function assertWithinCreatorExpiry(c: Context<CallerEnv>, expiresAt: string | null): void {
  const issue = expiryIssue(callerPrincipal(c), expiresAt);
  if (issue) throw KeygateError.badRequest([issue]);
}

/** A key's limits after `changes` (a field left out keeps the key's own). */
function limitsOf(record: KeyRecord, changes: { rate_limits?: RateLimitRule[] | undefined; quota?: Quota | null | undefined }): Limits {
  return { rateLimits: changes.rate_limits ?? record.rate_limits, quota: changes.quota !== undefined ? changes.quota : record.quota };
}

/** A child key's rate limits and quota may only narrow `parent`'s (its creator's, or its predecessor's). */
function assertLimitsWithin(limits: Limits, parent: Limits | undefined): void {
  if (!parent) return;
  const issues = looserLimits(limits, parent);
  if (issues.length > 0) throw KeygateError.badRequest(issues);
}

function assertReportModeAllowed(c: Context<CallerEnv>, mode: string | undefined): void {
  if (mode === "report" && callerPrincipal(c)) {
    throw KeygateError.badRequest([{ path: "restrictions_mode", message: "only ADMIN_TOKEN may set report mode" }]);
  }
}

/** The key fields an admin event's `changes` covers: every setting, never the hash. */
const AUDITED_KEY_FIELDS = [
  "name",
  "project_id",
  "scopes",
  "preset",
  "allowed_ips",
  "allowed_origins",
  "restrictions_mode",
  "not_before",
  "expires_at",
  "revoked_at",
  "rotated_from",
  "rotated_to",
  "rate_limits",
  "quota",
] as const satisfies readonly (keyof KeyRecord)[];

function changeOf(action: AdminAction, before: KeyRecord, after: KeyRecord | undefined): AdminChange {
  return {
    action,
    targetId: before.id,
    orgId: before.org_id,
    projectId: before.project_id,
    changes: after ? fieldChanges(before, after, AUDITED_KEY_FIELDS) : {},
  };
}

function isExpired(record: KeyRecord): boolean {
  return record.expires_at !== null && Date.parse(record.expires_at) <= Date.now();
}

function conflict(reason: string): KeygateError {
  return new KeygateError("CONFLICT", "conflict", { details: { reason } });
}

