/**
 * @module
 * The gateway: every request outside `/_keygate` goes through the checks of ../checks/request-checks
 * (SPEC §4's order, the first failure answers: route, credential, revocation, validity window, IP,
 * Origin, project, scopes, then rate limits), here with dashboard sessions, the MCP message checks
 * and the refusal of method override parameters (after the scopes); then the origin. Every
 * request, allowed or not, leaves one audit event.
 */
import { Hono } from "hono";
import { auditRequests } from "../audit/record";
import { verifySession } from "../auth/session";
import { checkSessionOrg } from "../checks/check-session-org";
import { checkSessionOrigin } from "../checks/check-session-origin";
import { policyCors } from "../checks/policy-cors";
import { requestChecks } from "../checks/request-checks";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { forward } from "./forward";
import { checkMcpMessages } from "./mcp/check-mcp";
import { refuseMethodOverride } from "./method-override";

export const gateway = new Hono<KeygateEnv>();

gateway.use(auditRequests(), policyCors(loadPolicy));
gateway.use(
  ...requestChecks({
    policyOf: loadPolicy,
    sessions: { verify: verifySession, checks: [checkSessionOrigin(), checkSessionOrg()] },
    messageChecks: [checkMcpMessages(), refuseMethodOverride()],
  }),
);
gateway.all("*", forward());
