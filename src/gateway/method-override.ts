/**
 * @module
 * Method override by parameter (README "Method overrides"). Laravel/Symfony read `_method` from the
 * query or the form body, Rails (Rack::MethodOverride) from a form body, Express's
 * `method-override` from wherever it is configured to look: each turns the POST that Keygate
 * checked into a DELETE, PUT or PATCH that the policy guards with other scopes. The
 * method-override headers are stripped at forwarding (./proxy); a parameter cannot be stripped
 * without changing the request, so one is refused: a query name that normalizes to `_method` (as
 * the `{query}` locator reads names, src/core/query-name.ts), a form field of that name or a
 * top-level key of a JSON body (Laravel reads JSON as its form input) is a 400, and so is such a
 * body with a `Content-Encoding` (Express's body-parser inflates it; the scan cannot read it).
 *
 * Such a body is read into memory up to {@link MAX_CHECKED_FORM_BYTES} and checked before the
 * origin is called. A longer one streams to the origin, checked chunk by chunk: a field found
 * there errors the stream, so the origin never receives the whole body (its form parser, which
 * reads the whole body before any handler runs, fails) and the client gets the same 400.
 */
import type { MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import { readBounded } from "./bounded-body";
import type { RoutedEnv } from "../http/context";
import { type FormFinding, formFieldScanner } from "./form-fields";
import { normalizeQueryName, queryValues } from "../core/query-name";

/** The parameter name origin frameworks read an override from. */
export const METHOD_OVERRIDE_PARAMETER = "_method";
/** Form bodies up to this size are checked before the origin sees a byte of them. */
export const MAX_CHECKED_FORM_BYTES = 1024 * 1024;

const OVERRIDE_NORMAL_FORM = normalizeQueryName(METHOD_OVERRIDE_PARAMETER);
const isOverride = (name: string) => normalizeQueryName(name) === OVERRIDE_NORMAL_FORM;

/**
 * Refuses a request whose query or form body carries a method override parameter.
 * @throws {KeygateError} 400 `invalid_request`, `details.issues` naming `query._method` or
 *   `body._method` (or the body that cannot be scanned within bounds).
 */
export function refuseMethodOverride(): MiddlewareHandler<RoutedEnv> {
  return async function refuseMethodOverrideMiddleware(c, next) {
    const request = c.req.raw;
    // The query as URL.search spells it, without parsing the URL on every request.
    const queryStart = request.url.indexOf("?");
    const search = queryStart < 0 || queryStart === request.url.length - 1 ? "" : request.url.slice(queryStart);
    if (search !== "" && queryValues(search, METHOD_OVERRIDE_PARAMETER).length > 0) {
      throw overrideRefused(`query.${METHOD_OVERRIDE_PARAMETER}`);
    }
    const scanner = request.body && formFieldScanner(request.headers.get("content-type"), request.method, isOverride);
    if (!scanner) return next();
    // Express's body-parser inflates gzip, deflate and br bodies before method-override reads them.
    if (isContentEncoded(request.headers.get("content-encoding"))) {
      throw KeygateError.badRequest([{ path: "body", message: "a form or JSON body with a Content-Encoding cannot be checked for a method override parameter" }]);
    }

    let refusal: KeygateError | undefined;
    const inspect = (chunk: Uint8Array) => {
      const finding = scanner.write(chunk);
      if (finding) throw (refusal = refusalOf(finding));
    };
    const read = await readBounded(request.body!, Number(request.headers.get("content-length") ?? Number.NaN), MAX_CHECKED_FORM_BYTES, inspect);
    if (read.bytes) {
      const finding = scanner.end();
      if (finding) throw refusalOf(finding);
      c.req.raw = new Request(request, { body: read.bytes });
      return next();
    }
    c.req.raw = new Request(request, { body: read.stream.pipeThrough(endCheck(scanner, (error) => (refusal = error))) });
    await next();
    // The stream errored under the origin: whatever came back answered a body it never got whole.
    if (refusal) {
      await c.res.body?.cancel().catch(() => {});
      throw refusal;
    }
  };
}

/** Passes chunks through and runs the scanner's end check when the body is complete. */
function endCheck(scanner: { end(): FormFinding | undefined }, onRefusal: (error: KeygateError) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    flush() {
      const finding = scanner.end();
      if (!finding) return;
      const error = refusalOf(finding);
      onRefusal(error);
      throw error;
    },
  });
}

/** Whether a `Content-Encoding` value names any coding other than `identity`. */
function isContentEncoded(contentEncoding: string | null): boolean {
  return (contentEncoding ?? "").split(",").some((coding) => !["", "identity"].includes(coding.trim().toLowerCase()));
}

function refusalOf(finding: FormFinding): KeygateError {
  return "field" in finding ? overrideRefused(`body.${METHOD_OVERRIDE_PARAMETER}`) : KeygateError.badRequest([{ path: "body", message: finding.unreadable }]);
}

function overrideRefused(path: string): KeygateError {
  return KeygateError.badRequest([{ path, message: "a method override parameter is refused: the origin would run another method than the one Keygate checked" }]);
}
