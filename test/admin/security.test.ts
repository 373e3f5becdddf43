/**
 * One permission matrix for every admin route (SPEC §8): who may call it, and what everyone else
 * gets. Each route is tried by every caller kind; nothing but the expected status is accepted.
 * Session callers (the console's) act for their org with their role's scopes: owner and admin
 * write, member reads; a user of another org, or of none, never reaches org A's data.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, createOrgAs, signUp } from "../helpers/auth";
import { authorizeDevice, bearer, CLIENT_ID, oauthPost } from "../helpers/oauth";
import { ADMIN_TOKEN, admin, createKey, createOrg, createProject } from "../helpers/worker";

type CallerName =
  | "anonymous" | "adminToken" | "wrongToken" | "noKeygateScopes" | "keysRead" | "keysWrite" | "projectsWrite" | "auditRead"
  | "revokedAdmin" | "otherOrgAdmin" | "oauthKeysWrite" | "oauthNoKeygateScopes" | "revokedOAuth"
  | "sessionOwner" | "sessionAdmin" | "sessionMember" | "sessionOtherOrg" | "sessionNoOrg" | "sessionForeignOrigin";

interface RouteCase {
  name: string;
  request: (ctx: Context) => Promise<[method: string, path: string, body?: unknown]> | [method: string, path: string, body?: unknown];
  /** Statuses per caller; callers left out must get 401 (no valid credential) or 403. */
  expect: Partial<Record<CallerName, number>>;
}

interface Context {
  org: string;
  targetKeyId: string;
}

let ctx: Context;
const auth: Record<CallerName, Record<string, string>> = {} as never;

beforeAll(async () => {
  // An org with an owner, so OAuth tokens of that owner can carry keygate: scopes.
  const owner = await signUp("Matrix Owner");
  const org = await createOrgAs(owner, "Matrix");
  const token = async (scope: string) => (await authorizeDevice(owner, org, scope)).access_token;
  const revokedToken = await token("keygate:keys:write keygate:projects:write content:read");
  await oauthPost("/revoke", { token: revokedToken, client_id: CLIENT_ID });
  const other = await createOrg("Elsewhere");
  const session = (user: { cookie: string }, origin = "https://gw.test") => ({ cookie: user.cookie, origin });
  const orgAdmin = await signUp("Matrix Admin");
  const orgMember = await signUp("Matrix Member");
  await addMember(org, orgAdmin.userId, "admin");
  await addMember(org, orgMember.userId, "member");
  const otherOwner = await signUp("Org B Owner");
  await createOrgAs(otherOwner, "Org B");
  await createProject(org, "p1");
  const key = (scopes: string[], orgId = org) => createKey({ org_id: orgId, scopes }).then((k) => ({ authorization: `Bearer ${k.key}` }));
  const target = await createKey({ org_id: org, scopes: ["content:read"] });
  const revoked = await createKey({ org_id: org, scopes: ["keygate:keys:write", "keygate:projects:write", "content:read"] });
  await admin("DELETE", `/keys/${revoked.id}`);
  Object.assign(auth, {
    anonymous: {},
    adminToken: { authorization: `Bearer ${ADMIN_TOKEN}` },
    wrongToken: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    noKeygateScopes: await key(["*"]),
    keysRead: await key(["keygate:keys:read"]),
    keysWrite: await key(["keygate:keys:write", "content:read"]),
    projectsWrite: await key(["keygate:projects:write"]),
    auditRead: await key(["keygate:audit:read"]),
    revokedAdmin: { "x-api-key": revoked.key },
    otherOrgAdmin: await key(["keygate:keys:write", "keygate:projects:write", "content:read"], other),
    oauthKeysWrite: bearer(await token("keygate:keys:write content:read")),
    oauthNoKeygateScopes: bearer(await token("*")),
    revokedOAuth: bearer(revokedToken),
    sessionOwner: session(owner),
    sessionAdmin: session(orgAdmin),
    sessionMember: session(orgMember),
    sessionOtherOrg: session(otherOwner),
    sessionNoOrg: session(await signUp("No Org")),
    sessionForeignOrigin: session(owner, "https://evil.example"),
  });
  ctx = { org, targetKeyId: target.id };
});

/**
 * What the org's owner, admin and member sessions get; a user of another org gets `otherOrg` (404:
 * where the request names org A, that org does not exist for them; on an id-only route it acts
 * for its own org, where the key is not found), a user without an org 404 where org A is
 * named and else 403 `org_required` (`noOrg`), and a session from a foreign Origin what the owner gets on
 * safe methods (unsafe ones list 403 `origin_not_allowed` explicitly).
 */
function sessions(owner: number, orgAdmin: number, member: number, noOrg = 404): Partial<Record<CallerName, number>> {
  return { sessionOwner: owner, sessionAdmin: orgAdmin, sessionMember: member, sessionOtherOrg: 404, sessionNoOrg: noOrg, sessionForeignOrigin: owner };
}

const routes: RouteCase[] = [
  { name: "POST /orgs", request: () => ["POST", "/orgs", { name: "n" }], expect: { adminToken: 201 } },
  { name: "GET /orgs", request: () => ["GET", "/orgs"], expect: { adminToken: 200, ...sessions(200, 200, 200, 200), sessionOtherOrg: 200 } },
  {
    name: "POST /orgs/:id/invitations",
    request: (c) => ["POST", `/orgs/${c.org}/invitations`, { email: `${crypto.randomUUID()}@example.com`, role: "member" }],
    expect: { adminToken: 201, ...sessions(201, 201, 403), otherOrgAdmin: 403, sessionForeignOrigin: 403 },
  },
  {
    name: "POST /invitations/accept",
    request: () => ["POST", "/invitations/accept", { token: `kgi_${"A".repeat(43)}` }],
    expect: { ...sessions(404, 404, 404), sessionOtherOrg: 404, sessionForeignOrigin: 403 },
  },
  { name: "GET /orgs/:id/members", request: (c) => ["GET", `/orgs/${c.org}/members`], expect: { adminToken: 200, ...sessions(200, 200, 200) } },
  {
    name: "POST /projects",
    request: (c) => ["POST", "/projects", { org_id: c.org, name: "n" }],
    expect: { adminToken: 201, projectsWrite: 201, otherOrgAdmin: 404, ...sessions(201, 201, 403), sessionForeignOrigin: 403 },
  },
  { name: "GET /projects", request: (c) => ["GET", `/projects?org_id=${c.org}`], expect: { adminToken: 200, keysRead: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 200) } },
  {
    name: "POST /keys",
    request: (c) => ["POST", "/keys", { org_id: c.org, name: "n", scopes: ["content:read"] }],
    expect: { adminToken: 201, keysWrite: 201, oauthKeysWrite: 201, otherOrgAdmin: 404, ...sessions(201, 201, 403), sessionForeignOrigin: 403 },
  },
  { name: "GET /keys", request: (c) => ["GET", `/keys?org_id=${c.org}`], expect: { adminToken: 200, keysRead: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 200) } },
  { name: "GET /keys/:id", request: (c) => ["GET", `/keys/${c.targetKeyId}`], expect: { adminToken: 200, keysRead: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 200, 403) } },
  { name: "GET /keys/:id/usage", request: (c) => ["GET", `/keys/${c.targetKeyId}/usage`], expect: { adminToken: 200, keysRead: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 200, 403) } },
  { name: "PATCH /keys/:id", request: (c) => ["PATCH", `/keys/${c.targetKeyId}`, { name: "renamed" }], expect: { adminToken: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 403, 403), sessionForeignOrigin: 403 } },
  {
    name: "POST /keys/:id/rotate",
    request: async (c) => ["POST", `/keys/${(await createKey({ org_id: c.org, scopes: ["content:read"] })).id}/rotate`, {}],
    expect: { adminToken: 201, keysWrite: 201, oauthKeysWrite: 201, otherOrgAdmin: 404, ...sessions(201, 201, 403, 403), sessionForeignOrigin: 403 },
  },
  {
    name: "DELETE /keys/:id",
    request: async (c) => ["DELETE", `/keys/${(await createKey({ org_id: c.org, scopes: ["content:read"] })).id}`],
    expect: { adminToken: 200, keysWrite: 200, oauthKeysWrite: 200, otherOrgAdmin: 404, ...sessions(200, 200, 403, 403), sessionForeignOrigin: 403 },
  },
  { name: "GET /audit", request: (c) => ["GET", `/audit?org_id=${c.org}`], expect: { adminToken: 200, auditRead: 200, ...sessions(200, 200, 200) } },
  { name: "GET /audit/series", request: (c) => ["GET", `/audit/series?org_id=${c.org}&key_ids=${c.targetKeyId}`], expect: { adminToken: 200, auditRead: 200, ...sessions(200, 200, 200) } },
  { name: "GET /audit/summary", request: (c) => ["GET", `/audit/summary?org_id=${c.org}&group_by=reason`], expect: { adminToken: 200, auditRead: 200, ...sessions(200, 200, 200) } },
  { name: "GET /audit/scopes", request: (c) => ["GET", `/audit/scopes?org_id=${c.org}`], expect: { adminToken: 200, auditRead: 200, ...sessions(200, 200, 200) } },
];

const callers: CallerName[] = [
  "anonymous", "adminToken", "wrongToken", "noKeygateScopes", "keysRead", "keysWrite", "projectsWrite", "auditRead", "revokedAdmin",
  "otherOrgAdmin", "oauthKeysWrite", "oauthNoKeygateScopes", "revokedOAuth",
  "sessionOwner", "sessionAdmin", "sessionMember", "sessionOtherOrg", "sessionNoOrg", "sessionForeignOrigin",
];
const unauthenticated = new Set<CallerName>(["anonymous", "wrongToken", "revokedAdmin", "revokedOAuth"]);

describe.each(routes)("$name", (route) => {
  it.each(callers)("answers the expected status to %s", async (caller) => {
    const [method, path, body] = await route.request(ctx);
    const res = await admin(method, path, body, auth[caller]);
    const expected = route.expect[caller] ?? (unauthenticated.has(caller) ? 401 : 403);
    expect(res.status, `${caller}: ${await res.clone().text()}`).toBe(expected);
  });
});

describe("GET /_keygate/v1/scopes", () => {
  it("is public and lists the catalog, wildcards, presets and Keygate's own scopes", async () => {
    const res = await admin("GET", "/scopes", undefined, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, Record<string, unknown>> };
    expect(Object.keys(body.data)).toEqual(expect.arrayContaining(["scopes", "wildcards", "presets", "keygate"]));
    expect(body.data.scopes?.["content:read"]).toBeTypeOf("string");
    expect(body.data.keygate?.["keygate:keys:write"]).toBeTypeOf("string");
  });
});
