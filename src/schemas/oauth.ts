/**
 * @module
 * Inputs of the OAuth endpoints under `/_keygate/oauth` (form-encoded or JSON, see
 * src/oauth/input.ts). Unknown parameters are ignored, as OAuth requires (RFC 6749 §3.1).
 */
import { z } from "zod";
import { OrgIdSchema, ProjectIdSchema } from "./key";

/** A device-flow client's self-chosen name, such as `keygate-cli`; nothing is registered. */
const DeviceClientIdSchema = z.string().min(1).max(64);
/** Any client id: a device-flow name, a registered `kgc_…` id, or a client ID metadata document URL. */
const ClientIdSchema = z.string().min(1).max(2048);
const SecretSchema = z.string().min(1).max(256);
const UriSchema = z.string().min(1).max(2048);
/** Space separated catalog scopes, wildcards or `keygate:` scopes; absent is `invalid_scope`. */
const ScopeParamSchema = z.string().trim().max(4096).optional();
/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const PkceValueSchema = z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, "must be 43 to 128 characters of [A-Za-z0-9._~-]");

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** `POST /oauth/device/code`. */
export const DeviceCodeInputSchema = z.object({
  client_id: DeviceClientIdSchema,
  scope: ScopeParamSchema,
  org_id: OrgIdSchema.optional(),
  project_id: ProjectIdSchema.optional(),
});

/** `POST /oauth/token`, by grant type. */
export const TokenInputSchema = z.discriminatedUnion("grant_type", [
  z.object({ grant_type: z.literal(DEVICE_CODE_GRANT), device_code: SecretSchema, client_id: ClientIdSchema }),
  z.object({ grant_type: z.literal("refresh_token"), refresh_token: SecretSchema, client_id: ClientIdSchema, resource: UriSchema.optional() }),
  z.object({
    grant_type: z.literal("authorization_code"),
    code: SecretSchema,
    client_id: ClientIdSchema,
    redirect_uri: UriSchema,
    code_verifier: PkceValueSchema,
    resource: UriSchema.optional(),
  }),
]);
export type TokenInput = z.infer<typeof TokenInputSchema>;

/** `POST /oauth/revoke` (RFC 7009). Unknown `token_type_hint` values are ignored (§2.1). */
export const RevokeInputSchema = z.object({
  token: z.string().max(256),
  client_id: ClientIdSchema,
  token_type_hint: z.string().max(64).optional(),
});

/** `POST /oauth/device`: a signed-in user's decision on a user code (forms add their form token). */
export const DeviceDecisionInputSchema = z.object({
  user_code: z.string().min(1).max(32),
  action: z.enum(["approve", "deny"]),
  org_id: OrgIdSchema.optional(),
  form_token: z.string().max(128).optional(),
});
export type DeviceDecisionInput = z.infer<typeof DeviceDecisionInputSchema>;

/** `POST /oauth/sign-in`: the pages' sign-in form; `return_to` is a path under `/_keygate/oauth/`. */
export const SignInFormSchema = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
  return_to: z
    .string()
    .max(8192)
    .regex(/^\/_keygate\/oauth\/[^\\\s]*$/, "must be a path under /_keygate/oauth/"),
});

/**
 * `GET /oauth/authorize` (its query) and the consent form's hidden fields: the authorization
 * request of RFC 6749 §4.1.1 with PKCE (RFC 7636) and a resource indicator (RFC 8707). Only the
 * shape is checked here; src/oauth/authorize.ts decides what is allowed.
 */
export const AuthorizationRequestSchema = z.object({
  response_type: z.string().max(64).optional(),
  client_id: ClientIdSchema,
  redirect_uri: UriSchema.optional(),
  scope: ScopeParamSchema,
  state: z.string().max(2048).optional(),
  code_challenge: z.string().max(256).optional(),
  code_challenge_method: z.string().max(64).optional(),
  resource: UriSchema.optional(),
});
export type AuthorizationRequestInput = z.infer<typeof AuthorizationRequestSchema>;

/** `POST /oauth/authorize`: the consent form (the request's fields, then the user's decision). */
export const AuthorizationDecisionSchema = AuthorizationRequestSchema.extend({
  action: z.enum(["approve", "deny"]),
  /** `<org_id>` or `<org_id>/<project_id>`. */
  target: z.string().max(200).optional(),
  form_token: z.string().max(128).optional(),
});

/**
 * Client metadata (RFC 7591 §2), as `POST /oauth/register` receives it and as a client ID metadata
 * document holds it. Keygate only has public clients.
 */
export const ClientMetadataSchema = z.object({
  redirect_uris: z.array(UriSchema).min(1).max(10),
  client_name: z.string().trim().min(1).max(200).optional(),
  token_endpoint_auth_method: z.string().max(64).optional(),
  grant_types: z.array(z.string().max(128)).max(8).optional(),
  response_types: z.array(z.string().max(64)).max(4).optional(),
  client_uri: UriSchema.optional(),
  logo_uri: UriSchema.optional(),
  scope: z.string().max(4096).optional(),
  software_id: z.string().max(200).optional(),
  software_version: z.string().max(200).optional(),
});
export type ClientMetadata = z.infer<typeof ClientMetadataSchema>;

/** A client ID metadata document: the metadata plus its own URL as `client_id`. */
export const ClientMetadataDocumentSchema = ClientMetadataSchema.extend({ client_id: ClientIdSchema });
