/**
 * @module
 * The admin API under `/_keygate/v1` (SPEC §8). Callers authenticate with ADMIN_TOKEN, an admin
 * API key, whose own restrictions (revocation, validity, IP, Origin) apply here too, or an OAuth
 * access token, which acts like an admin key of its org, or a dashboard session, which acts for one
 * org with its role's scopes (./session-role); each route then requires its `keygate:` scope. Changes, refused or failed calls and report-mode violations
 * are audited; successful reads are not.
 */
import { Hono } from "hono";
import { auditRequests } from "../audit/record";
import { verifySession } from "../auth/session";
import type { KeygateEnv } from "../http/context";
import { checkSessionOrigin } from "../checks/check-session-origin";
import { checkKeyRestrictions } from "../checks/restrictions";
import { resolveCaller } from "../checks/resolve-caller";
import { notFound } from "./actor";
import { audit } from "./audit";
import { limitBody } from "../http/input";
import { keys } from "./keys";
import { openapi } from "./openapi";
import { invitations } from "./invitations";
import { orgPeople } from "./members";
import { actForSessionOrg } from "./session-role";
import { orgs, projects } from "./orgs";
import { scopes } from "./scopes";

export const admin = new Hono<KeygateEnv>();

admin.route("/scopes", scopes);
admin.route("/openapi.json", openapi);

admin.use(
  "*",
  auditRequests({ when: (c) => c.var.adminChange !== undefined || c.var.wouldDeny !== undefined || c.res.status >= 400 }),
  limitBody(),
  resolveCaller({ allowAnonymous: () => false, acceptAdminToken: true, verifySession }),
  checkKeyRestrictions(),
  checkSessionOrigin({ trustOwnOrigin: true }),
  // Listing its own orgs and accepting an invitation are what a session does without acting for an org.
  actForSessionOrg({ orgOptional: (c) => c.req.path === "/_keygate/v1/orgs" || c.req.path === "/_keygate/v1/invitations/accept" }),
);
admin.route("/orgs", orgPeople);
admin.route("/orgs", orgs);
admin.route("/invitations", invitations);
admin.route("/projects", projects);
admin.route("/keys", keys);
admin.route("/audit", audit);
admin.all("*", () => {
  throw notFound();
});
