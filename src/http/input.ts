/**
 * @module
 * Admin input: JSON bodies (64 KB at most, `application/json` only) and query strings, each
 * validated by its zod schema into the contract's 400 `invalid_request` with `details.issues`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { KeygateError, zodIssues } from "../errors";

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Refuses bodies over {@link MAX_BODY_BYTES}, also when they are streamed without a length. */
export function limitBody(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new KeygateError("PAYLOAD_TOO_LARGE", "payload too large", { details: { maxBytes: MAX_BODY_BYTES } });
    },
  });
}

/**
 * The request's JSON body parsed by `schema`. With `optional`, an empty body counts as `{}`.
 * @throws {KeygateError} 415 for a non-JSON content type, 400 for bad JSON or a schema violation.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, options: { optional?: boolean } = {}): Promise<z.output<S>> {
  const text = await c.req.text();
  if (text === "" && options.optional) return parseWith(schema, {});
  if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    throw new KeygateError("UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw KeygateError.badRequest([{ path: "(body)", message: "is not valid JSON" }]);
  }
  return parseWith(schema, body);
}

/** The query string parsed by `schema` (the first value of each parameter). */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query());
}

/**
 * `value` parsed by `schema`.
 * @throws {KeygateError} 400 `invalid_request` with `details.issues`.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw KeygateError.badRequest(zodIssues(result.error));
  return result.data;
}
