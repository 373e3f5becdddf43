/**
 * @module
 * `/_keygate/auth/*`: better-auth's own HTTP API (sign-up, sign-in, sign-out, get-session,
 * organization/…), answered in better-auth's shapes, except its rate limiter's 429, which becomes
 * the contract's (`RATE_LIMITED`, `Retry-After`). Dashboards on the policy's CORS origins may call
 * it from the browser with credentials.
 *
 * The organization plugin's invitation endpoints (invite-member, accept-, reject-, get-, cancel-,
 * list-invitation(s), list-user-invitations, and any later one) are refused with 404: they list or
 * redeem invitations by id or email, and Keygate's invitations are redeemed only by the secret of
 * their link (./invitations).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { KeygateEnv } from "../http/context";
import { KeygateError } from "../errors";
import { loadPolicy } from "../policy/compile";
import { tooManyAttempts } from "./attempts";
import { getAuth } from "./auth";

/** The violated policy a refused sign-in or sign-up names. */
const ATTEMPTS_POLICY = "auth-attempts";

/** Any better-auth path naming invitations (`invite-member`, `…-invitation`, `…-invitations`). */
const INVITATION_ROUTE = /invit/i;

/**
 * Refuses better-auth's invitation endpoints, however the path is spelt (case, percent-encoding,
 * repeated or trailing slashes); a path that does not decode is refused too.
 */
function refuseInvitationRoutes(): MiddlewareHandler<KeygateEnv> {
  return async function refuseInvitationRoutesMiddleware(c, next) {
    if (namesInvitations(c.req.url)) {
      throw new KeygateError("NOT_FOUND", "not found", {
        details: { reason: "invitations are made with POST /_keygate/v1/orgs/:id/invitations and accepted through their link" },
      });
    }
    await next();
  };
}

function namesInvitations(url: string): boolean {
  try {
    return INVITATION_ROUTE.test(decodeURIComponent(new URL(url).pathname));
  } catch {
    // A path that does not decode is refused rather than guessed at.
    return true;
  }
}

export const authRoutes = new Hono<KeygateEnv>();

authRoutes.use(
  cors({
    origin: (origin, c) => (loadPolicy(c.env).cors.origins.has(origin) ? origin : null),
    allowMethods: ["GET", "POST"],
    credentials: true,
  }),
);
authRoutes.use(refuseInvitationRoutes());
authRoutes.on(["GET", "POST"], "*", async (c) => {
  const res = await getAuth(c.env).handler(c.req.raw);
  if (res.status === 429) throw tooManyAttempts(Math.max(1, Number(res.headers.get("x-retry-after")) || 1), ATTEMPTS_POLICY);
  return res;
});
