/**
 * Drives the real Worker (its `fetch` export) on the test's local D1, KV and Queue.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const BASE = "https://gw.test";

type Json = Record<string, unknown>;

/** The body of an echo-mode response: what the origin would have received. */
export interface Echo {
  echo: true;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
}

/** A request through the Worker. `path` is relative to {@link BASE}. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * A request through the Worker with some vars changed (`SIGNUP`, `POLICY`, …). A new env object
 * gets its own config and better-auth instance, on the same D1, KV and Queue.
 */
export async function callWithEnv(path: string, overrides: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A JSON request to the admin API with ADMIN_TOKEN, or with `auth` headers instead. */
export function admin(method: string, path: string, body?: unknown, auth: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }) {
  const headers: Record<string, string> = { ...auth };
  if (body !== undefined) headers["content-type"] = "application/json";
  return call(`/_keygate/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function json<T = Json>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export async function createOrg(name = "Acme"): Promise<string> {
  const res = await admin("POST", "/orgs", { name });
  if (res.status !== 201) throw new Error(`create org: ${res.status} ${await res.text()}`);
  return (await json<{ data: { id: string } }>(res)).data.id;
}

export async function createProject(orgId: string, id?: string): Promise<string> {
  const res = await admin("POST", "/projects", { org_id: orgId, name: `Project ${id ?? ""}`, ...(id && { id }) });
  if (res.status !== 201) throw new Error(`create project: ${res.status} ${await res.text()}`);
  return (await json<{ data: { id: string } }>(res)).data.id;
}

export interface CreatedKey {
  id: string;
  key: string;
  [field: string]: unknown;
}

/** Creates a key with ADMIN_TOKEN (or `auth`) and returns the record with its raw key. */
export async function createKey(body: Json, auth?: Record<string, string>): Promise<CreatedKey> {
  const res = await admin("POST", "/keys", { name: "test key", ...body }, auth);
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
  return (await json<{ data: CreatedKey }>(res)).data;
}

export { env };
