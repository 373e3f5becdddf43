/**
 * @module
 * The admin API under `/_keygate/v1` (SPEC §8). Callers authenticate with ADMIN_TOKEN or an admin
 * API key, whose own restrictions (revocation, validity, IP, Origin) apply here too; each route
 * then requires its `keygate:` scope. Changes, failed change attempts and refusals are audited.
 */
import { Hono } from "hono";
import { auditRequests } from "../audit/record";
import type { KeygateEnv } from "../gateway/context";
import { checkKeyRestrictions } from "../gateway/restrictions";
import { resolveCaller } from "../gateway/resolve-caller";
import { notFound } from "./actor";
import { audit } from "./audit";
import { limitBody } from "./input";
import { keys } from "./keys";
import { orgs, projects } from "./orgs";
import { scopes } from "./scopes";

export const admin = new Hono<KeygateEnv>();

admin.route("/scopes", scopes);

admin.use(
  "*",
  auditRequests({ when: (c) => c.var.adminChange !== undefined || (c.req.method !== "GET" && c.res.status >= 400) || [401, 403].includes(c.res.status) }),
  limitBody(),
  resolveCaller({ allowAnonymous: () => false, acceptAdminToken: true }),
  checkKeyRestrictions(),
);
admin.route("/orgs", orgs);
admin.route("/projects", projects);
admin.route("/keys", keys);
admin.route("/audit", audit);
admin.all("*", () => {
  throw notFound();
});
