/**
 * @module
 * `GET /_keygate/oauth/authorize` (the authorization request: sign-in, then the consent page) and
 * `POST /_keygate/oauth/authorize` (the consent form's decision), over ./authorize.
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { listMemberProjects, listMemberships } from "../db/orgs";
import { KeygateError, zodIssues } from "../errors";
import { cacheContext } from "../http/cache-context";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { AuthorizationDecisionSchema, AuthorizationRequestSchema, type AuthorizationRequestInput } from "../schemas/oauth";
import {
  approveAuthorization,
  authorizationPurpose,
  AuthorizationPageError,
  AuthorizationRedirectError,
  authorizationResponse,
  checkAuthorizationRequest,
  type AuthorizationRequest,
} from "./authorize";
import { AUTHORIZE_PATH, authorizeView } from "./authorize-page";
import { assertFormToken, formToken, requireTrustedOrigin } from "./form-guard";
import { readParams } from "./input";
import { errorView, explainError, pageHeaders } from "./page";
import { signedInUser, signInPage, type SignedInUser } from "./sign-in";

/** How many of the user's projects the consent page offers. */
const MAX_PROJECT_CHOICES = 200;

export const authorizeRoutes = new Hono<KeygateEnv>();

authorizeRoutes.get("/authorize", async (c) => {
  const parsed = AuthorizationRequestSchema.safeParse(c.req.query());
  if (!parsed.success) return invalidRequestPage(c, parsed.error);
  try {
    const request = await check(c, parsed.data);
    const user = await signedInUser(c);
    if (user === null) return signInPage(c);
    return await consentPage(c, request, user);
  } catch (error) {
    return answerError(c, error);
  }
});

authorizeRoutes.post("/authorize", requireTrustedOrigin(), async (c) => {
  const parsed = AuthorizationDecisionSchema.safeParse((await readParams(c)) ?? {});
  if (!parsed.success) return invalidRequestPage(c, parsed.error);
  const { action, target, form_token: submittedToken, ...fields } = parsed.data;
  try {
    const request = await check(c, fields);
    const user = await signedInUser(c);
    if (user === null) return signInPage(c, authorizeUrl(fields), "Your session ended: sign in again.", 401);
    await assertFormToken(c.env, user.sessionCookie, authorizationPurpose(request), submittedToken);
    const url = new URL(c.req.url);
    const location =
      action === "deny"
        ? authorizationResponse(request.redirectUri, { error: "access_denied", error_description: "the user denied the request", state: request.state }, url)
        : await approveAuthorization(c.env.DB, request, { userId: user.userId, target }, url, Date.now());
    return redirectTo(location);
  } catch (error) {
    return answerError(c, error);
  }
});

function check(c: Context<KeygateEnv>, fields: AuthorizationRequestInput): Promise<AuthorizationRequest> {
  return checkAuthorizationRequest(cacheContext(c), c.env, fields, loadPolicy(c.env).catalog, new URL(c.req.url));
}

async function consentPage(c: Context<KeygateEnv>, request: AuthorizationRequest, user: SignedInUser): Promise<Response> {
  const [memberships, projects] = await Promise.all([listMemberships(c.env.DB, user.userId), listMemberProjects(c.env.DB, user.userId, MAX_PROJECT_CHOICES)]);
  const token = await formToken(c.env, user.sessionCookie, authorizationPurpose(request));
  const view = authorizeView({ request, memberships, projects, catalog: loadPolicy(c.env).catalog, formToken: token });
  // The form's answer redirects to the client: without its origin in form-action, browsers refuse.
  return c.html(view, 200, pageHeaders([new URL(request.redirectUri).origin]));
}

/** The authorize URL of a request, where sign-in returns to. */
function authorizeUrl(fields: AuthorizationRequestInput): string {
  const query = new URLSearchParams(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `${AUTHORIZE_PATH}?${query}`;
}

function redirectTo(location: string): Response {
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store", "referrer-policy": "no-referrer" } });
}

function invalidRequestPage(c: Context<KeygateEnv>, error: Parameters<typeof zodIssues>[0]): Response | Promise<Response> {
  const message = zodIssues(error).map((issue) => `${issue.path}: ${issue.message}`).join("; ");
  return c.html(errorView("Invalid authorization request", message), 400, pageHeaders());
}

function answerError(c: Context<KeygateEnv>, error: unknown): Response | Promise<Response> {
  if (error instanceof AuthorizationRedirectError) return redirectTo(error.location);
  if (error instanceof AuthorizationPageError) return c.html(errorView("Cannot authorize this application", error.message), 400, pageHeaders());
  if (error instanceof KeygateError && error.code !== "UNAVAILABLE") {
    return c.html(errorView("Not done", explainError(error)), error.status as ContentfulStatusCode, pageHeaders());
  }
  throw error;
}
