/**
 * @module
 * The admin API's OpenAPI 3.1 document, served at `/_keygate/v1/openapi.json` (public). Each
 * operation names the zod schemas its handler validates with, so the document is generated from
 * the same source as the validation and cannot drift from it; a test checks that every route the
 * admin app registers is documented.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { KeygateEnv } from "../http/context";
import { AuditEventSchema } from "../schemas/audit-event";
import { CreateKeyInputSchema, KeyRecordSchema, KeyUsageSchema, QuotaSchema, RateLimitsSchema, RotateKeyInputSchema, UpdateKeyInputSchema } from "../schemas/key";
import type { KeygateScope } from "../core/scope-grammar";
import pkg from "../../package.json";
import { ROLLUP_GROUPS } from "../db/audit-rollups";
import { AuditQuerySchema, ScopesQuerySchema, SeriesQuerySchema, SummaryQuerySchema } from "./audit";
import { InvitationAcceptInputSchema } from "./invitations";
import { InvitationInputSchema } from "./members";
import { KeyListQuerySchema } from "./keys";
import { CreateOrgInputSchema, CreateProjectInputSchema, ProjectListQuerySchema } from "./orgs";
import { PageQuerySchema } from "./pagination";

/**
 * Who may call an operation: anyone, only ADMIN_TOKEN, ADMIN_TOKEN or a session of the org (an
 * org's people), or a caller holding the scope.
 */
type Access = "public" | "admin_token" | "admin_token_or_session" | "session" | KeygateScope;

interface Operation {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI path template under `/_keygate/v1` (`{id}` for `:id`). */
  path: string;
  summary: string;
  access: Access;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The `data` of a success body; a list when `list` is set. */
  data?: z.ZodType;
  list?: boolean;
  status?: 200 | 201;
  /** Other media types of the success response (exports). */
  media?: string[];
}

const OrgSchema = z.object({ id: z.string(), name: z.string(), created_at: z.string() });
const ProjectSchema = z.object({ id: z.string(), org_id: z.string(), name: z.string(), created_at: z.string() });
const CreatedKeySchema = KeyRecordSchema.extend({ key: z.string().describe("the raw key, shown only in this response") });
const KeyListItemSchema = KeyRecordSchema.extend({ requests_24h: z.number().int() });
const ScopeCatalogSchema = z.object({
  scopes: z.record(z.string(), z.string()),
  wildcards: z.record(z.string(), z.string()),
  presets: z.record(z.string(), z.array(z.string())),
  preset_limits: z
    .record(z.string(), z.object({ rate_limits: RateLimitsSchema, quota: QuotaSchema.nullable() }))
    .describe("per preset: the rate limits and quota a key made from it gets (empty and null when it has none)"),
  keygate: z.record(z.string(), z.string()).describe("Keygate's own admin scopes, with descriptions"),
});
const SummarySchema = z.object({
  group_by: z.enum(ROLLUP_GROUPS),
  unit: z.enum(["minute", "hour"]).describe("the rollup that answered"),
  since: z.string(),
  until: z.string().nullable(),
  groups: z.array(
    z.object({
      value: z.string().nullable().describe("key id, project id, reason or outcome; for time groups the bucket's start"),
      count: z.number().int(),
      allowed: z.number().int(),
      denied: z.number().int(),
      would_deny: z.number().int(),
    }),
  ),
});
const ExercisedScopeSchema = z.object({ key_id: z.string(), scope: z.string(), requests: z.number().int(), last_day: z.string() });
const InvitationSchema = z.object({
  id: z.string(),
  org_id: z.string(),
  email: z.string(),
  role: z.string(),
  status: z.literal("pending"),
  expires_at: z.string(),
  created_at: z.string(),
  inviter_id: z.string().nullable().describe("null when ADMIN_TOKEN invited"),
  accept_url: z
    .string()
    .describe("the link that redeems the invitation, answered only here and once: send it to the invitee; its secret is stored only as SHA-256"),
});
const MemberSchema = z.object({ id: z.string(), user_id: z.string(), email: z.string(), name: z.string(), role: z.string(), created_at: z.string() });
const SeriesSchema = z.object({
  interval: z.literal("hour"),
  since: z.string(),
  points: z.array(z.object({ t: z.string(), key_id: z.string(), allowed: z.number(), denied: z.number(), would_deny: z.number() })),
});
const IdParam = { name: "id", in: "path", required: true, schema: { type: "string" } };

/** Every admin operation. Adding a route to the admin app without an entry here fails a test. */
export const OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/scopes", summary: "The scope catalog, wildcards and presets", access: "public", data: ScopeCatalogSchema },
  { method: "post", path: "/orgs", summary: "Create an org", access: "admin_token", body: CreateOrgInputSchema, data: OrgSchema, status: 201 },
  {
    method: "get",
    path: "/orgs",
    summary: "List orgs (ADMIN_TOKEN: all; a session: its own, with its role)",
    access: "admin_token_or_session",
    query: PageQuerySchema,
    data: OrgSchema.partial({ created_at: true }).extend({ role: z.string().optional() }),
    list: true,
  },
  {
    method: "post",
    path: "/orgs/{id}/invitations",
    summary:
      "Invite a user by email (ADMIN_TOKEN, or an owner/admin session of the org; only owners invite owners); the answer's accept_url, valid 48 hours and once, is the only way in",
    access: "admin_token_or_session",
    body: InvitationInputSchema,
    data: InvitationSchema,
    status: 201,
  },
  {
    method: "post",
    path: "/invitations/accept",
    summary:
      "Accept an invitation (a session whose email is the invited one): join its org with its role; 404 for an invalid, expired or used secret, 403 invitation_for_another_email",
    access: "session",
    body: InvitationAcceptInputSchema,
    data: z.object({ org_id: z.string(), role: z.string() }),
  },
  { method: "get", path: "/orgs/{id}/members", summary: "The org's members (ADMIN_TOKEN, or a session of the org)", access: "admin_token_or_session", data: MemberSchema, list: true },
  {
    method: "post",
    path: "/projects",
    summary: "Create a project (a chosen id: ADMIN_TOKEN only; ids are unique across orgs, 409 when taken)",
    access: "keygate:projects:write",
    body: CreateProjectInputSchema,
    data: ProjectSchema,
    status: 201,
  },
  { method: "get", path: "/projects", summary: "List projects", access: "keygate:keys:read", query: ProjectListQuerySchema, data: ProjectSchema, list: true },
  {
    method: "post",
    path: "/keys",
    summary: "Create a key; the raw key is returned once",
    access: "keygate:keys:write",
    body: CreateKeyInputSchema,
    data: CreatedKeySchema,
    status: 201,
  },
  { method: "get", path: "/keys", summary: "List keys, newest first", access: "keygate:keys:read", query: KeyListQuerySchema, data: KeyListItemSchema, list: true },
  { method: "get", path: "/keys/{id}", summary: "One key", access: "keygate:keys:read", data: KeyRecordSchema },
  {
    method: "get",
    path: "/keys/{id}/usage",
    summary: "A key's rate-limit and quota usage now (exact tier; approximate counts are null)",
    access: "keygate:keys:read",
    data: KeyUsageSchema,
  },
  { method: "patch", path: "/keys/{id}", summary: "Change a key", access: "keygate:keys:write", body: UpdateKeyInputSchema, data: KeyRecordSchema },
  {
    method: "post",
    path: "/keys/{id}/rotate",
    summary: "Rotate a key; the new raw key is returned once",
    access: "keygate:keys:write",
    body: RotateKeyInputSchema,
    data: CreatedKeySchema,
    status: 201,
  },
  { method: "delete", path: "/keys/{id}", summary: "Revoke a key", access: "keygate:keys:write", data: KeyRecordSchema },
  {
    method: "get",
    path: "/audit",
    summary: "The audit log, newest first; format=ndjson|csv streams an export",
    access: "keygate:audit:read",
    query: AuditQuerySchema,
    data: AuditEventSchema,
    list: true,
    media: ["application/x-ndjson", "text/csv"],
  },
  { method: "get", path: "/audit/summary", summary: "Audit counts from the rollups, grouped by a field or time bucket", access: "keygate:audit:read", query: SummaryQuerySchema, data: SummarySchema },
  {
    method: "get",
    path: "/audit/scopes",
    summary: "The scopes each key's requests that got through required (least privilege)",
    access: "keygate:audit:read",
    query: ScopesQuerySchema,
    data: z.array(ExercisedScopeSchema),
  },
  {
    method: "get",
    path: "/audit/series",
    summary: "Allowed, denied and would-deny counts per hour and key, from the rollups (key_ids: up to 100 keys)",
    access: "keygate:audit:read",
    query: SeriesQuerySchema,
    data: SeriesSchema,
  },
  { method: "get", path: "/openapi.json", summary: "This document", access: "public" },
];

const ErrorSchema = z.object({
  ok: z.literal(false),
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

function queryParameters(schema: z.ZodObject) {
  const { properties = {}, required = [] } = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => ({ name, in: "query", required: required.includes(name), schema: property }));
}

function successBody(operation: Operation) {
  if (!operation.data) return { type: "object" };
  const data = operation.list ? { type: "array", items: jsonSchema(operation.data) } : jsonSchema(operation.data);
  const envelope: Record<string, unknown> = { ok: { const: true }, data };
  if (operation.list) envelope.next_cursor = { type: ["string", "null"] };
  return { type: "object", required: ["ok", "data"], properties: envelope };
}

function security(access: Access) {
  if (access === "public") return [];
  if (access === "admin_token") return [{ adminToken: [] }];
  if (access === "admin_token_or_session") return [{ adminToken: [] }, { session: [] }];
  if (access === "session") return [{ session: [] }];
  return [{ adminToken: [] }, { apiKey: [access] }, { bearer: [access] }, { session: [] }];
}

function describeOperation(operation: Operation) {
  const status = String(operation.status ?? 200);
  const content: Record<string, unknown> = { "application/json": { schema: successBody(operation) } };
  for (const media of operation.media ?? []) content[media] = { schema: { type: "string" } };
  const errors = { description: "an error in the contract's shape", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  return {
    summary: operation.summary,
    operationId: `${operation.method}${operation.path.replace(/[{}]/g, "").replace(/[/.](\w)/g, (_, c: string) => c.toUpperCase())}`,
    ...(operation.access.startsWith("keygate:") && { "x-required-scope": operation.access }),
    security: security(operation.access),
    parameters: [...(operation.path.includes("{id}") ? [IdParam] : []), ...(operation.query ? queryParameters(operation.query) : [])],
    ...(operation.body && { requestBody: { required: operation.method !== "post" || !operation.path.endsWith("/rotate"), content: { "application/json": { schema: jsonSchema(operation.body) } } } }),
    responses: { [status]: { description: "success", content }, "4XX": errors, "5XX": errors },
  };
}

/** The OpenAPI 3.1 document of the admin API. */
export function buildOpenApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) (paths[operation.path] ??= {})[operation.method] = describeOperation(operation);
  return {
    openapi: "3.1.0",
    info: { title: "Keygate admin API", version: pkg.version, description: "API keys, projects, orgs and the audit log (SPEC §8)." },
    servers: [{ url: "/_keygate/v1" }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorSchema) },
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN (all orgs)" },
        bearer: { type: "http", scheme: "bearer", description: "an admin API key (kg_…) or an OAuth access token of one org" },
        apiKey: { type: "apiKey", in: "header", name: "x-api-key", description: "an admin API key of one org" },
        session: { type: "apiKey", in: "cookie", name: "__Secure-better-auth.session_token", description: "a console session; unsafe methods need a trusted Origin" },
      },
    },
  };
}

let document: string | undefined;

export const openapi = new Hono<KeygateEnv>();

openapi.get("/", (c) => {
  document ??= JSON.stringify(buildOpenApiDocument());
  return c.body(document, 200, { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" });
});
