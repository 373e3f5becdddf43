/**
 * The authorization-code grant with PKCE (OAuth 2.1) inside workerd: the authorization request and
 * what is never redirected, the consent page and its form, the code exchange, resource binding
 * (RFC 8707) through refresh, and what removal from the org does to an unexchanged code.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createCacheContextForTest } from "../helpers/cache";
import { addMember, authPost, createOrgAs, type DashboardUser, signUp } from "../helpers/auth";
import {
  authorizeCode,
  authorizePage,
  bearer,
  exchangeCode,
  expectOAuthError,
  LOOPBACK_REDIRECT,
  oauthPost,
  pkcePair,
  registerClient,
  submitConsent,
  type TokenResponse,
} from "../helpers/oauth";
import { BASE, call, createProject, type Echo, json } from "../helpers/worker";
import { verifyAccessToken } from "../../src/credentials/access-tokens";
import { isTokenForResource } from "../../src/core/resource-indicator";

const RESOURCE = `${BASE}/mcp`;
let owner: DashboardUser;
let org: string;
let project: string;
let member: DashboardUser;
let clientId: string;

beforeAll(async () => {
  owner = await signUp("Cody Consent");
  org = await createOrgAs(owner, "Consent Org");
  project = await createProject(org, "consent_product");
  member = await signUp("Mia Member");
  await addMember(org, member.userId);
  clientId = await registerClient();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function redirectParams(res: Response): URLSearchParams {
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(LOOPBACK_REDIRECT);
  return location.searchParams;
}

describe("GET /_keygate/oauth/authorize", () => {
  it("shows a signed-out browser the sign-in form, returning to this request", async () => {
    const { challenge } = await pkcePair();
    const res = await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('type="password"');
    expect(body).toMatch(/name="return_to" value="\/_keygate\/oauth\/authorize\?response_type=code&amp;/);
  });

  it("shows the consent page: the client, where it answers, each scope with its description, org and project choices", async () => {
    const { challenge } = await pkcePair();
    const res = await authorizePage({ client_id: clientId, scope: "content:read stories:read", code_challenge: challenge, resource: RESOURCE }, owner);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("Test MCP Client");
    expect(body).toContain(clientId);
    expect(body).toContain("<code>http://127.0.0.1:8765</code>");
    expect(body).toContain(`<code>${RESOURCE}</code>`);
    expect(body).toContain("Read site pages, markdown content, and llms.txt files");
    expect(body).toContain("Read stories and their drafts");
    expect(body).toContain(`<option value="${org}">Consent Org (owner): every project</option>`);
    expect(body).toContain(`<option value="${org}/${project}">`);
    expect(body).not.toContain("<script");
  });

  it("lets the consent form redirect to the client's origin, and nothing else", async () => {
    const { challenge } = await pkcePair();
    const res = await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge }, owner);
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'self'; form-action 'self' http://127.0.0.1:8765; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("accepts a loopback redirect URI on any port (RFC 8252 §7.3), but not another path or host", async () => {
    const { challenge } = await pkcePair();
    const ok = await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge, redirect_uri: "http://127.0.0.1:51234/callback" }, owner);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:51234;");
    for (const redirect_uri of ["http://127.0.0.1:51234/other", "http://localhost:8765/callback", "https://127.0.0.1:8765/callback"]) {
      const res = await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge, redirect_uri }, owner);
      expect(res.status).toBe(400);
    }
  });

  it("never redirects to an unregistered redirect URI or for an unknown client: it shows a page", async () => {
    const { challenge } = await pkcePair();
    for (const params of [
      { client_id: clientId, redirect_uri: "https://evil.example/callback" },
      { client_id: "kgc_01JD3Q5K2M8Z4X7V9B1C3D5F7G", redirect_uri: LOOPBACK_REDIRECT },
      { client_id: "keygate-cli", redirect_uri: LOOPBACK_REDIRECT },
    ]) {
      const res = await authorizePage({ ...params, scope: "content:read", code_challenge: challenge }, owner);
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    }
  });

  it("sends other errors back to the client with state and iss: no PKCE, plain PKCE, another response type, no scope, a foreign resource", async () => {
    const { challenge } = await pkcePair();
    const cases: [Record<string, string>, string][] = [
      [{ scope: "content:read" }, "invalid_request"],
      [{ scope: "content:read", code_challenge: challenge, code_challenge_method: "plain" }, "invalid_request"],
      [{ scope: "content:read", code_challenge: challenge, response_type: "token" }, "unsupported_response_type"],
      [{ code_challenge: challenge }, "invalid_scope"],
      [{ scope: "nope:nope", code_challenge: challenge }, "invalid_scope"],
      [{ scope: "content:read", code_challenge: challenge, resource: "https://elsewhere.example/mcp" }, "invalid_target"],
      [{ scope: "content:read", code_challenge: challenge, resource: `${BASE}/mcp#frag` }, "invalid_target"],
    ];
    for (const [params, error] of cases) {
      const query = redirectParams(await authorizePage({ client_id: clientId, state: "s-42", ...params }, owner));
      expect(query.get("error")).toBe(error);
      expect(query.get("state")).toBe("s-42");
      expect(query.get("iss")).toBe(`${BASE}/_keygate/oauth`);
      expect(query.get("code")).toBeNull();
    }
  });

  it("judges scopes by the role of a user's one org, also when the org has projects to pick", async () => {
    const { challenge } = await pkcePair();
    const params = { client_id: clientId, scope: "content:read keygate:keys:write", code_challenge: challenge };
    const forMember = await (await authorizePage(params, member)).text();
    expect(forMember).toMatch(/<code>keygate:keys:write<\/code>[^<]*— not grantable/);
    expect(forMember).not.toMatch(/<code>content:read<\/code>[^<]*— not grantable/);
    const forOwner = await (await authorizePage(params, owner)).text();
    expect(forOwner).toContain(`<option value="${org}/${project}">`);
    expect(forOwner).not.toMatch(/<code>keygate:keys:write<\/code>[^<]*—/);
  });

  it("escapes a hostile client name", async () => {
    const hostile = await registerClient({ client_name: `<img src=x onerror="alert(1)">` });
    const { challenge } = await pkcePair();
    const body = await (await authorizePage({ client_id: hostile, scope: "content:read", code_challenge: challenge }, owner)).text();
    expect(body).not.toContain("<img");
    expect(body).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });
});

describe("POST /_keygate/oauth/authorize (consent)", () => {
  it("approves: a code, the state and iss at the redirect URI; the code yields tokens for the org, project and resource", async () => {
    const pages = `${BASE}/api/v1/site/pages`;
    const { code, verifier, location } = await authorizeCode(owner, { client_id: clientId, scope: "content:read", resource: pages }, `${org}/${project}`);
    expect(code).toMatch(/^kgo_ac_[0-9A-Za-z]{43}$/);
    expect(location.searchParams.get("state")).toBe("st-1");
    expect(location.searchParams.get("iss")).toBe(`${BASE}/_keygate/oauth`);
    const res = await exchangeCode({ code, verifier, client_id: clientId, resource: pages });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const tokens = await json<TokenResponse>(res);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "content:read", org_id: org, project_id: project });
    const rows = await env.DB.prepare("SELECT resource, family_id FROM oauth_tokens WHERE client_id = ? AND project_id = ?").bind(clientId, project).all();
    expect(rows.results.map((row) => row.resource)).toEqual([pages, pages]);
    const echo = await call(`/api/v1/site/pages?productId=${project}`, { headers: bearer(tokens.access_token) });
    expect(echo.status).toBe(200);
    expect((await json<Echo>(echo)).headers["x-keygate-user-id"]).toBe(owner.userId);
  });

  it("lets a resource-bound token through at its resource only: other gateway routes and the admin API answer 401 (RFC 8707)", async () => {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read prompts:read keygate:keys:read", resource: `${BASE}/api/v1/site/pages` }, org);
    const tokens = await json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }));
    expect((await call("/api/v1/site/pages?x=1", { headers: bearer(tokens.access_token) })).status).toBe(200);
    for (const path of ["/api/v1/prompts", "/_keygate/v1/keys"]) {
      const res = await call(path, { headers: bearer(tokens.access_token) });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    }
    // Userinfo belongs to the authorization server and answers for any of its tokens.
    expect((await call("/_keygate/oauth/userinfo", { headers: bearer(tokens.access_token) })).status).toBe(200);
  });

  it("exposes the resource on the verified token, as MCP routes check it", async () => {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read", resource: RESOURCE }, org);
    const tokens = await json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }));
    const token = await verifyAccessToken(createCacheContextForTest(), env, tokens.access_token);
    expect(token?.resource).toBe(RESOURCE);
    expect(isTokenForResource(token!, RESOURCE)).toBe(true);
    expect(isTokenForResource(token!, `${BASE}/other-mcp`)).toBe(false);
    expect(isTokenForResource({ resource: null }, RESOURCE)).toBe(false);
  });

  it("denies: access_denied and the state at the redirect URI, no code", async () => {
    const { challenge } = await pkcePair();
    const page = await (await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge, state: "d-1" }, owner)).text();
    const codes = () => env.DB.prepare("SELECT count(*) AS n FROM oauth_authorization_codes").first("n");
    const before = await codes();
    const query = redirectParams(await submitConsent(owner, page, "deny"));
    expect(query.get("error")).toBe("access_denied");
    expect(query.get("state")).toBe("d-1");
    expect(query.get("code")).toBeNull();
    expect(await codes()).toBe(before);
  });

  it("refuses a form whose request fields were changed after the page was served (form token)", async () => {
    const { challenge } = await pkcePair();
    const page = await (await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge }, owner)).text();
    const changes: Record<string, string>[] = [{ scope: "content:read stories:read" }, { redirect_uri: "http://127.0.0.1:9999/callback" }, { form_token: "forged" }];
    for (const overrides of changes) {
      const res = await submitConsent(owner, page, "approve", org, overrides);
      expect(res.status).toBe(403);
      expect(res.headers.get("location")).toBeNull();
    }
    // Another user's session cannot use the owner's page either.
    expect((await submitConsent(member, page, "approve", org)).status).toBe(403);
  });

  it("refuses a consent form posted from another site", async () => {
    const { challenge } = await pkcePair();
    const page = await (await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge }, owner)).text();
    const fields = Object.fromEntries([...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const res = await call("/_keygate/oauth/authorize", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: owner.cookie, origin: "https://evil.example" },
      body: new URLSearchParams({ ...fields, action: "approve", target: org }).toString(),
      redirect: "manual",
    });
    expect(res.status).toBe(403);
  });

  it("grants a member catalog scopes only, and refuses an org the user is not in", async () => {
    const { code, verifier } = await authorizeCode(member, { client_id: clientId, scope: "content:read keygate:keys:write" }, org);
    expect((await json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }))).scope).toBe("content:read");
    const stranger = await signUp("Sam Stranger");
    await createOrgAs(stranger, "Stranger Org");
    const { challenge } = await pkcePair();
    const page = await (await authorizePage({ client_id: clientId, scope: "content:read", code_challenge: challenge }, stranger)).text();
    expect((await submitConsent(stranger, page, "approve", org)).status).toBe(400);
  });
});

describe("POST /_keygate/oauth/token (authorization_code)", () => {
  it("refuses a wrong code_verifier, another client, another redirect URI", async () => {
    const other = await registerClient();
    for (const change of [{ verifier: "x".repeat(43) }, { client_id: other }, { redirect_uri: "http://127.0.0.1:8766/callback" }]) {
      const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read" }, org);
      await expectOAuthError(await exchangeCode({ code, verifier, client_id: clientId, ...change }), 400, "invalid_grant");
    }
  });

  it("yields tokens once; a replayed code revokes the tokens it yielded", async () => {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read" }, org);
    const tokens = await json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }));
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(200);
    await expectOAuthError(await exchangeCode({ code, verifier, client_id: clientId }), 400, "invalid_grant");
    expect((await call("/api/v1/site/pages", { headers: bearer(tokens.access_token) })).status).toBe(401);
  });

  it("refuses a code after 60 s", async () => {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read" }, org);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    await expectOAuthError(await exchangeCode({ code, verifier, client_id: clientId }), 400, "invalid_grant");
  });

  it("refuses another resource than the authorization request's with invalid_target", async () => {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read", resource: RESOURCE }, org);
    await expectOAuthError(await exchangeCode({ code, verifier, client_id: clientId, resource: `${BASE}/other-mcp` }), 400, "invalid_target");
  });

  it("yields nothing once the approver was removed from the org", async () => {
    const leaver = await signUp("Lou Leaver");
    await addMember(org, leaver.userId);
    const { code, verifier } = await authorizeCode(leaver, { client_id: clientId, scope: "content:read" }, org);
    const res = await authPost("/organization/remove-member", { memberIdOrEmail: leaver.email, organizationId: org }, owner.cookie);
    expect(res.status).toBe(200);
    await expectOAuthError(await exchangeCode({ code, verifier, client_id: clientId }), 400, "invalid_grant");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM oauth_tokens WHERE user_id = ?").bind(leaver.userId).first("n")).toBe(0);
  });
});

describe("refreshing a resource-bound token", () => {
  async function boundTokens(): Promise<TokenResponse> {
    const { code, verifier } = await authorizeCode(owner, { client_id: clientId, scope: "content:read", resource: RESOURCE }, org);
    return json<TokenResponse>(await exchangeCode({ code, verifier, client_id: clientId }));
  }

  function refreshAs(refreshToken: string, resource?: string): Promise<Response> {
    return oauthPost("/token", { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, ...(resource && { resource }) });
  }

  it("keeps the resource, with or without the same resource parameter", async () => {
    const first = await boundTokens();
    const second = await json<TokenResponse>(await refreshAs(first.refresh_token));
    const third = await refreshAs(second.refresh_token, RESOURCE);
    expect(third.status).toBe(200);
    const token = await verifyAccessToken(createCacheContextForTest(), env, (await json<TokenResponse>(third)).access_token);
    expect(token?.resource).toBe(RESOURCE);
  });

  it("answers invalid_target for another resource, and the refresh token stays usable", async () => {
    const tokens = await boundTokens();
    await expectOAuthError(await refreshAs(tokens.refresh_token, `${BASE}/other-mcp`), 400, "invalid_target");
    expect((await refreshAs(tokens.refresh_token)).status).toBe(200);
  });
});
