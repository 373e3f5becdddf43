/**
 * @module
 * The console's only way to read or change anything: requests to the admin API (`/_keygate/v1`),
 * run in-process through the Worker's own `fetch` with the browser's session cookie. The admin API
 * therefore authorizes, validates and audits every console action exactly as it does any caller's.
 */
import type { ExecutionContext, HonoRequest } from "hono";
import type { Bindings } from "../env";

/** The Worker's fetch, handed in by src/app.ts (the console imports nothing above itself). */
export type WorkerFetch = (request: Request, env: Bindings, ctx: ExecutionContext) => Response | Promise<Response>;

/** An admin API answer: `ok` with `data` (and `next_cursor` for lists), or the contract's error. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; next_cursor?: string | null }
  | { ok: false; status: number; code: string; message: string; details?: Record<string, unknown> };

/** Headers of the browser request that the admin API's audit event should see. */
const FORWARDED = ["cookie", "cf-connecting-ip", "user-agent", "x-request-id"];

export interface ConsoleApi {
  get<T>(path: string, query?: Record<string, string | undefined>): Promise<ApiResult<T>>;
  send<T>(method: "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<ApiResult<T>>;
}

/**
 * The admin API as the signed-in user of this console request. Unsafe calls carry the Worker's
 * own Origin: the console checked the form's CSRF protection before it calls.
 */
export function consoleApi(c: { req: HonoRequest; env: Bindings; executionCtx: ExecutionContext }, workerFetch: WorkerFetch): ConsoleApi {
  const self = new URL(c.req.url).origin;
  const baseHeaders = new Headers();
  for (const name of FORWARDED) {
    const value = c.req.header(name);
    if (value !== undefined) baseHeaders.set(name, value);
  }
  const call = async <T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> => {
    const headers = new Headers(baseHeaders);
    if (method !== "GET") headers.set("origin", self);
    if (body !== undefined) headers.set("content-type", "application/json");
    const request = new Request(`${self}/_keygate/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const res = await workerFetch(request, c.env, c.executionCtx);
    const parsed = (await res.json()) as Record<string, unknown>;
    if (parsed.ok === true) return { ok: true, status: res.status, data: parsed.data as T, next_cursor: parsed.next_cursor as string | null | undefined };
    return {
      ok: false,
      status: res.status,
      code: String(parsed.code),
      message: String(parsed.message),
      details: parsed.details as Record<string, unknown> | undefined,
    };
  };
  return {
    get: (path, query = {}) => call("GET", `${path}${queryString(query)}`),
    send: (method, path, body) => call(method, path, body),
  };
}

/** `?a=1&b=2` of the given (non-empty) values, or `""`. */
export function queryString(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(name, value);
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
