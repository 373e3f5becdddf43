/**
 * One signed request's identity, shared by the origin signature tests (v1 and v2).
 */
import type { KeygateIdentity } from "../../src/origin/identity";

export const SECRET = "keygate-test-secret";
export const NOW = 1_700_000_000;
export const PATH = "/api/v1/site/pages?productId=p1";

export const identity: KeygateIdentity = {
  caller: "api_key",
  keyId: "key_123",
  orgId: "org_1",
  projectId: "prj_1",
  scopes: ["content:read", "stories:read"],
  requestId: "req_1",
};

/** The identity headers the gateway sends for {@link identity}. */
export const identityHeaders = {
  "x-keygate-caller": "api_key",
  "x-keygate-key-id": "key_123",
  "x-keygate-org-id": "org_1",
  "x-keygate-project-id": "prj_1",
  "x-keygate-scopes": "content:read stories:read",
  "x-keygate-request-id": "req_1",
};
