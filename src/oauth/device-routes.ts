/**
 * @module
 * The device flow's verification page: `GET /_keygate/oauth/device` (sign-in, code entry, consent)
 * and `POST /_keygate/oauth/device` (approve or deny, from the page's form or as JSON).
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { parseWith } from "../http/input";
import { limitAttempts, USER_CODE_ATTEMPTS } from "../auth/attempts";
import { listMemberships } from "../db/orgs";
import { KeygateError } from "../errors";
import { unauthorized } from "../http/challenge";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { DeviceDecisionInputSchema } from "../schemas/oauth";
import { decideDeviceAuthorization, findPendingDevice, normalizeUserCode } from "./device";
import { assertFormToken, formToken, isTrustedOrigin } from "./form-guard";
import { isFormRequest, readParams } from "./input";
import { consentView, enterCodeView, explainError, outcomeView, pageHeaders } from "./page";
import { signedInUser, signInPage, type SignedInUser } from "./sign-in";

export const deviceRoutes = new Hono<KeygateEnv>();

/** User codes are short enough to guess: every lookup or decision naming one counts (SPEC: issue 10 item 8). */
const limitUserCodeAttempts = limitAttempts("oauth-user-code", USER_CODE_ATTEMPTS);

deviceRoutes.get("/device", async (c, next) => (c.req.query("user_code") === undefined ? next() : limitUserCodeAttempts(c, next)));
deviceRoutes.post("/device", limitUserCodeAttempts);

deviceRoutes.get("/device", async (c) => {
  const user = await signedInUser(c);
  if (user === null) return signInPage(c);
  const typed = c.req.query("user_code");
  if (typed === undefined) return c.html(enterCodeView(), 200, pageHeaders());
  const device = await findPendingDevice(c.env.DB, typed, Date.now());
  if (device === null) return c.html(enterCodeView("That code is unknown, expired or already used."), 200, pageHeaders());
  const memberships = await listMemberships(c.env.DB, user.userId);
  const formToken = await deviceFormToken(c, user, device.user_code);
  return c.html(consentView({ device, memberships, catalog: loadPolicy(c.env).catalog, formToken }), 200, pageHeaders());
});

/** Approve or deny: a browser form (answered with a page) or JSON (answered with JSON). */
deviceRoutes.post("/device", async (c) => {
  const fromForm = isFormRequest(c);
  try {
    if (!isTrustedOrigin(c)) throw new KeygateError("FORBIDDEN", "origin_not_allowed");
    const user = await signedInUser(c);
    if (user === null) throw unauthorized(c, "invalid session");
    const params = await readParams(c);
    if (params === null) throw KeygateError.badRequest([{ path: "(body)", message: "must be a form or a JSON object" }]);
    const input = parseWith(DeviceDecisionInputSchema, params);
    // A form can be posted by any site; JSON from another site needs a CORS preflight Keygate never grants.
    if (fromForm) await assertFormToken(c.env, user.sessionCookie, devicePurpose(input.user_code), input.form_token);
    const decision = { userCode: input.user_code, userId: user.userId, action: input.action, orgId: input.org_id };
    const status = await decideDeviceAuthorization(c.env.DB, decision, Date.now());
    if (!fromForm) return c.json({ ok: true, data: { status } });
    return status === "approved"
      ? c.html(outcomeView("Device connected", "You can return to your device."), 200, pageHeaders())
      : c.html(outcomeView("Request denied", "The device was not given access."), 200, pageHeaders());
  } catch (error) {
    if (!fromForm || !(error instanceof KeygateError)) throw error;
    return c.html(outcomeView("Not done", explainError(error)), error.status as ContentfulStatusCode, pageHeaders());
  }
});

function devicePurpose(userCode: string): string {
  return `device\n${normalizeUserCode(userCode) ?? userCode}`;
}

function deviceFormToken(c: Context<KeygateEnv>, user: SignedInUser, userCode: string): Promise<string> {
  return formToken(c.env, user.sessionCookie, devicePurpose(userCode));
}
