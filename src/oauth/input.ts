/**
 * @module
 * OAuth request bodies: `application/x-www-form-urlencoded` (what RFC 6749 specifies) or JSON
 * (what scripts find easier), each parameter once. Empty form fields count as absent.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { zodIssues } from "../errors";
import { OAuthError } from "./errors";

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Whether the request body is a form (a browser's), as opposed to JSON. */
export function isFormRequest(c: Context): boolean {
  return FORM_TYPE.test(c.req.header("content-type") ?? "");
}

/**
 * The body's parameters as an object, `null` when it is neither a form nor a JSON object.
 * @example const params = await readParams(c); // { grant_type: "refresh_token", … }
 */
export async function readParams(c: Context): Promise<Record<string, unknown> | null> {
  // Decoded by hand: workerd warns when `.text()` reads a form body.
  const text = new TextDecoder().decode(await c.req.arrayBuffer());
  if (isFormRequest(c)) {
    const params: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(text)) if (value !== "" && !(name in params)) params[name] = value;
    return params;
  }
  if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) return null;
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The body parsed by `schema` for an OAuth endpoint.
 * @throws {OAuthError} `invalid_request` naming what is wrong; `invalid_client` without a usable
 *   client_id; `unsupported_grant_type` for a `grant_type` the schema does not know.
 */
export async function readOAuthInput<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const params = await readParams(c);
  if (params === null) throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded or a JSON object");
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  if (issues.some((issue) => issue.path === "grant_type") && typeof params.grant_type === "string") {
    throw new OAuthError("unsupported_grant_type", `grant_type "${params.grant_type.slice(0, 100)}" is not supported`);
  }
  if (issues.some((issue) => issue.path === "client_id")) throw new OAuthError("invalid_client", "client_id is missing or longer than 64 characters");
  throw new OAuthError("invalid_request", issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "));
}
