/**
 * @module
 * The admin API under `/_keygate/v1` (SPEC §8). Callers authenticate with ADMIN_TOKEN or an admin
 * API key, whose own restrictions (revocation, validity, IP, Origin) apply here too; each route
 * then requires its `keygate:` scope.
 */
import { Hono } from "hono";
import type { KeygateEnv } from "../gateway/context";
import { checkKeyRestrictions } from "../gateway/restrictions";
import { resolveCaller } from "../gateway/resolve-caller";
import { notFound } from "./actor";
import { limitBody } from "./input";
import { keys } from "./keys";
import { orgs, projects } from "./orgs";
import { scopes } from "./scopes";

export const admin = new Hono<KeygateEnv>();

admin.route("/scopes", scopes);

admin.use(
  "*",
  limitBody(),
  resolveCaller({ allowAnonymous: () => false, acceptAdminToken: true }),
  checkKeyRestrictions(),
);
admin.route("/orgs", orgs);
admin.route("/projects", projects);
admin.route("/keys", keys);
admin.all("*", () => {
  throw notFound();
});
