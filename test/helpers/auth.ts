/**
 * Dashboard users through better-auth's HTTP API under /_keygate/auth, as a browser would use it.
 */
import { env } from "cloudflare:workers";
import { getAuth } from "../../src/auth/auth";
import { admin, BASE, call, json } from "./worker";

/** A dashboard origin listed in policy.json's `cors.origins`. */
export const DASHBOARD_ORIGIN = "https://app.example.com";

/** better-auth's cookie name with BETTER_AUTH_URL on https (vitest.config.ts). */
export const SESSION_COOKIE_NAME = "__Secure-better-auth.session_token";

export interface DashboardUser {
  userId: string;
  email: string;
  /** The session token, the unsigned half of the cookie (as stored in `sessions.token`). */
  token: string;
  /** The cookie value as the browser sends it: URL-encoded `<token>.<signature>`. */
  cookieValue: string;
  /** A `Cookie` header carrying the session. */
  cookie: string;
}

const PASSWORD = "correct horse battery staple";

/**
 * POST to better-auth, JSON in, with an Origin better-auth trusts and an optional session. Each
 * call comes from its own client address, so sign-in and sign-up limits (per address) stay out of
 * tests that are not about them.
 */
export function authPost(path: string, body: unknown, cookie?: string, clientIp = randomClientIp()): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: BASE, "cf-connecting-ip": clientIp };
  if (cookie) headers.cookie = cookie;
  return call(`/_keygate/auth${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

/** A random address in 10.0.0.0/8. */
export function randomClientIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** Signs a new user up (better-auth signs them in at once) and returns their session. */
export function signUp(name = "Dashboard User"): Promise<DashboardUser> {
  return signUpAs(`${crypto.randomUUID()}@example.com`, {}, name);
}

/** A new session of an existing user. */
export async function signIn(email: string): Promise<DashboardUser> {
  const res = await authPost("/sign-in/email", { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  return sessionOf(res, email);
}

async function sessionOf(res: Response, email: string): Promise<DashboardUser> {
  const body = await json<{ token: string; user: { id: string } }>(res);
  const cookieValue = sessionCookieValue(res);
  return { userId: body.user.id, email, token: body.token, cookieValue, cookie: `${SESSION_COOKIE_NAME}=${cookieValue}` };
}

/** The session cookie a response sets, as the browser will send it back. */
export function sessionCookieValue(res: Response): string {
  const prefix = `${SESSION_COOKIE_NAME}=`;
  const cookie = res.headers.getSetCookie().find((line) => line.startsWith(prefix));
  if (!cookie) throw new Error("no session cookie set");
  return cookie.slice(prefix.length).split(";", 1)[0]!;
}

/** Creates an org as `user` through better-auth (the user becomes its owner); returns its id. */
export async function createOrgAs(user: DashboardUser, name = "Dashboard Org"): Promise<string> {
  const slug = `org-${crypto.randomUUID()}`;
  const res = await authPost("/organization/create", { name, slug }, user.cookie);
  if (res.status !== 200) throw new Error(`create org: ${res.status} ${await res.text()}`);
  return (await json<{ id: string }>(res)).id;
}

/** Adds a user to an org with better-auth's server-side API (no HTTP route exposes it). */
export async function addMember(orgId: string, userId: string, role: "member" | "admin" | "owner" = "member"): Promise<void> {
  await getAuth(env).api.addMember({ body: { organizationId: orgId, userId, role } });
}

/** A cookie value for `token` signed with BETTER_AUTH_SECRET, as better-auth signs it. */
export async function signedCookieValue(token: string, secret = env.BETTER_AUTH_SECRET!): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(token)));
  return encodeURIComponent(`${token}.${btoa(String.fromCharCode(...signature))}`);
}

/** An invitation as `POST /_keygate/v1/orgs/:id/invitations` answers it, with its link's secret. */
export interface InvitationLink {
  id: string;
  acceptUrl: string;
  /** The secret of the link (its last path segment). */
  token: string;
}

/** Invites `email` to `orgId` with ADMIN_TOKEN (or `auth`) through the admin API. */
export async function inviteEmail(orgId: string, email: string, role = "member", auth?: Record<string, string>): Promise<InvitationLink> {
  const res = await admin("POST", `/orgs/${orgId}/invitations`, { email, role }, auth);
  if (res.status !== 201) throw new Error(`invite: ${res.status} ${await res.text()}`);
  const { id, accept_url } = (await json<{ data: { id: string; accept_url: string } }>(res)).data;
  return { id, acceptUrl: accept_url, token: accept_url.slice(accept_url.lastIndexOf("/") + 1) };
}

/** Signs `email` up with `fields` added to better-auth's sign-up body (an `invitationToken`). */
export async function signUpAs(email: string, fields: Record<string, string> = {}, name = "Dashboard User"): Promise<DashboardUser> {
  const res = await authPost("/sign-up/email", { name, email, password: PASSWORD, ...fields });
  if (res.status !== 200) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
  return sessionOf(res, email);
}

/** The console's Accept form post for an invitation link, as a browser on the console's page sends it. */
export function acceptInvitationAs(user: DashboardUser | null, token: string, origin: string | null = BASE): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (user) headers.cookie = user.cookie;
  if (origin !== null) headers.origin = origin;
  return call(`/_keygate/console/invitations/${token}`, { method: "POST", headers, body: "", redirect: "manual" });
}
