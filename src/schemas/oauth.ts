/**
 * @module
 * Inputs of the OAuth endpoints under `/_keygate/oauth` (form-encoded or JSON, see
 * src/oauth/input.ts). Unknown parameters are ignored, as OAuth requires (RFC 6749 §3.1).
 */
import { z } from "zod";
import { OrgIdSchema, ProjectIdSchema } from "./key";

/** A public client's self-chosen name, such as `keygate-cli`; nothing is registered. */
const ClientIdSchema = z.string().min(1).max(64);
const SecretSchema = z.string().min(1).max(256);

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** `POST /oauth/device/code`. */
export const DeviceCodeInputSchema = z.object({
  client_id: ClientIdSchema,
  /** Space separated catalog scopes, wildcards or `keygate:` scopes. */
  scope: z.string().trim().min(1).max(4096),
  org_id: OrgIdSchema.optional(),
  project_id: ProjectIdSchema.optional(),
});

/** `POST /oauth/token`, by grant type. */
export const TokenInputSchema = z.discriminatedUnion("grant_type", [
  z.object({ grant_type: z.literal(DEVICE_CODE_GRANT), device_code: SecretSchema, client_id: ClientIdSchema }),
  z.object({ grant_type: z.literal("refresh_token"), refresh_token: SecretSchema, client_id: ClientIdSchema }),
]);
export type TokenInput = z.infer<typeof TokenInputSchema>;

/** `POST /oauth/revoke` (RFC 7009). */
export const RevokeInputSchema = z.object({
  token: z.string().max(256),
  token_type_hint: z.enum(["access_token", "refresh_token"]).optional(),
});

/** `POST /oauth/device`: a signed-in user's decision on a user code. */
export const DeviceDecisionInputSchema = z.object({
  user_code: z.string().min(1).max(32),
  action: z.enum(["approve", "deny"]),
  org_id: OrgIdSchema.optional(),
});
export type DeviceDecisionInput = z.infer<typeof DeviceDecisionInputSchema>;
