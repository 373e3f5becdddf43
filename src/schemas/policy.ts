/**
 * @module
 * The policy JSON of SPEC §5: the scope catalog, presets, CORS and routes. Every object is strict,
 * so a misspelt field is an error rather than a silently ignored setting. Cross-checks between
 * entries (route scopes in the catalog, reserved paths, …) run in `compilePolicy`.
 */
import { z } from "zod";
import { QuotaSchema, RateLimitsSchema } from "./key";
import { WILDCARD_PATTERN } from "../core/scope-grammar";
import { ScopeOrWildcardSchema, ScopeSchema } from "./scope";

/** Methods a route may name; `*` is any of them. */
export const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const MAX_CORS_MAX_AGE = 86_400;
const DEFAULT_CORS_MAX_AGE = 600;

/** RFC 9110 `token`: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const DescriptionSchema = z.string().trim().min(1, "needs a description");

const WildcardKeySchema = z.string().regex(WILDCARD_PATTERN, "must be `*` or `prefix:*`");

const PresetNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "must match [a-z0-9][a-z0-9_-]*");

/** `scheme://host[:port]` exactly as browsers send it in `Origin` (lowercase, no default port). */
const OriginSchema = z.string().refine(isCanonicalOrigin, "must be an exact origin like https://app.example.com");

const CorsSchema = z.strictObject({
  origins: z.array(OriginSchema).default([]),
  max_age: z.number().int().min(0).max(MAX_CORS_MAX_AGE).default(DEFAULT_CORS_MAX_AGE),
});

/** Where a request names its project: a path parameter, a query parameter or a header. */
const ProjectLocatorSchema = z.union([
  z.strictObject({ param: z.string().min(1) }),
  z.strictObject({ query: z.string().min(1) }),
  z.strictObject({ header: z.string().regex(HEADER_NAME, "is not a header name") }),
]);
export type ProjectLocator = z.infer<typeof ProjectLocatorSchema>;

/** A resource URI pattern of SPEC §10: an exact URI, or a prefix ending in `*` (`*` alone: any). */
export const RESOURCE_PATTERN = /^[^*]*\*?$/;
const McpNameSchema = z.string().min(1, "needs a name").max(1024);
const McpScopesSchema = z.array(ScopeSchema);
const McpMapSchema = z.record(McpNameSchema, McpScopesSchema).default({});

/**
 * SPEC §10: the scopes each MCP tool, prompt and resource needs, beyond the route's own. A name
 * that no entry covers takes `default`: `"deny"` (the default) or a scope list.
 */
const McpSchema = z.strictObject({
  tools: McpMapSchema,
  prompts: McpMapSchema,
  resources: z
    .record(McpNameSchema.regex(RESOURCE_PATTERN, "must be an exact URI or a prefix ending in *"), McpScopesSchema)
    .default({}),
  default: z.union([z.literal("deny"), McpScopesSchema], { error: 'must be "deny" or a list of scopes' }).default("deny"),
});
export type McpPolicy = z.infer<typeof McpSchema>;

const RouteSchema = z.strictObject({
  method: z.enum([...ROUTE_METHODS, "*"]),
  path: z.string().startsWith("/", "must start with /"),
  scopes: z.array(ScopeSchema).default([]),
  public: z.boolean().default(false),
  /** `false` refuses dashboard session callers (403 `org_required`). */
  sessions: z.boolean().default(true),
  project: z
    .union([ProjectLocatorSchema, z.literal("origin")], {
      error: 'must be {"param": name}, {"query": name}, {"header": name} or "origin"',
    })
    .optional(),
  /** How many units one request (one MCP message) counts against rate limits and quotas. */
  cost: z.number().int().min(1).max(1000).default(1),
  mcp: McpSchema.optional(),
});
export type Route = z.infer<typeof RouteSchema>;

const PresetScopesSchema = z.array(ScopeOrWildcardSchema).min(1);

/** A preset: its scopes, or its scopes with the rate limits and quota a key made from it gets. */
const PresetSchema = z
  .union([
    PresetScopesSchema,
    z.strictObject({ scopes: PresetScopesSchema, rate_limits: RateLimitsSchema.default([]), quota: QuotaSchema.nullable().default(null) }),
  ])
  .transform((preset) => (Array.isArray(preset) ? { scopes: preset, rate_limits: [], quota: null } : preset));
export type Preset = z.infer<typeof PresetSchema>;

/** Limits applied to OAuth access tokens, counted per (user, client). */
const PolicyRateLimitsSchema = z.strictObject({ oauth: RateLimitsSchema.default([]) });

/** The whole policy document. */
export const PolicySchema = z.strictObject({
  scopes: z.record(ScopeSchema, DescriptionSchema),
  wildcards: z.record(WildcardKeySchema, DescriptionSchema).default({}),
  presets: z.record(PresetNameSchema, PresetSchema).default({}),
  cors: CorsSchema.default({ origins: [], max_age: DEFAULT_CORS_MAX_AGE }),
  routes: z.array(RouteSchema).min(1),
  rate_limits: PolicyRateLimitsSchema.default({ oauth: [] }),
});
export type Policy = z.infer<typeof PolicySchema>;

function isCanonicalOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
  } catch {
    return false;
  }
}
