/**
 * SPEC §1: the first credential present decides alone, even when it is empty or invalid.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/core/api-key";
import { createOrgAs, SESSION_COOKIE_NAME, signUp } from "../helpers/auth";
import { authorizeDevice, CLIENT_ID, oauthPost } from "../helpers/oauth";
import { call, createKey, createOrg, json } from "../helpers/worker";

let validKey: string;
let validSession: string;
let validOAuth: string;
let revokedOAuth: string;
const invalidKey = generateApiKey("live");
const cookie = (value: string) => `theme=dark; ${SESSION_COOKIE_NAME}=${value}`;

beforeAll(async () => {
  const org = await createOrg();
  validKey = (await createKey({ org_id: org, scopes: ["content:read"] })).key;
  const user = await signUp();
  validSession = cookie(user.cookieValue);
  const userOrg = await createOrgAs(user);
  validOAuth = (await authorizeDevice(user, userOrg, "content:read")).access_token;
  revokedOAuth = (await authorizeDevice(user, userOrg, "content:read")).access_token;
  await oauthPost("/revoke", { token: revokedOAuth, client_id: CLIENT_ID });
});

async function outcome(headers: Record<string, string>): Promise<string> {
  const res = await call("/api/v1/site/pages", { headers });
  if (res.status === 200) return "allowed";
  return `${res.status} ${(await json<{ message: string }>(res)).message}`;
}

describe("credential precedence", () => {
  it.each([
    ["a valid x-api-key", () => ({ "x-api-key": validKey }), "allowed"],
    ["an invalid x-api-key beside a valid bearer key", () => ({ "x-api-key": invalidKey, authorization: `Bearer ${validKey}` }), "401 invalid api key"],
    ["an empty x-api-key beside a valid bearer key", () => ({ "x-api-key": "", authorization: `Bearer ${validKey}` }), "401 invalid api key"],
    ["a valid x-api-key beside an invalid bearer token", () => ({ "x-api-key": validKey, authorization: "Bearer nope" }), "allowed"],
    ["a valid x-api-key beside a session cookie", () => ({ "x-api-key": validKey, cookie: cookie("x.y") }), "allowed"],
    ["an invalid x-api-key beside a session cookie", () => ({ "x-api-key": invalidKey, cookie: cookie("x.y") }), "401 invalid api key"],
    ["a kg_ bearer token (an API key)", () => ({ authorization: `Bearer ${validKey}` }), "allowed"],
    ["a lower-case bearer scheme", () => ({ authorization: `bearer ${validKey}` }), "allowed"],
    ["an invalid kg_ bearer token (API-key message)", () => ({ authorization: `Bearer ${invalidKey}` }), "401 invalid api key"],
    ["an OAuth bearer token beside a session cookie", () => ({ authorization: "Bearer opaque-token", cookie: cookie("x.y") }), "401 invalid token"],
    ["a valid bearer key beside a session cookie", () => ({ authorization: `Bearer ${validKey}`, cookie: cookie("x.y") }), "allowed"],
    ["Authorization Basic (ignored) with a session cookie", () => ({ authorization: "Basic dTpw", cookie: cookie("x.y") }), "401 invalid session"],
    ["Authorization Basic alone (ignored)", () => ({ authorization: "Basic dTpw" }), "401 missing credentials"],
    ["a valid session cookie alone", () => ({ cookie: validSession }), "allowed"],
    ["a valid x-api-key beside a valid session cookie", () => ({ "x-api-key": validKey, cookie: validSession }), "allowed"],
    ["an invalid x-api-key beside a valid session cookie", () => ({ "x-api-key": invalidKey, cookie: validSession }), "401 invalid api key"],
    ["an empty x-api-key beside a valid session cookie", () => ({ "x-api-key": "", cookie: validSession }), "401 invalid api key"],
    ["an invalid kg_ bearer token beside a valid session cookie", () => ({ authorization: `Bearer ${invalidKey}`, cookie: validSession }), "401 invalid api key"],
    ["an OAuth bearer token beside a valid session cookie", () => ({ authorization: "Bearer opaque-token", cookie: validSession }), "401 invalid token"],
    ["Authorization Basic (ignored) with a valid session cookie", () => ({ authorization: "Basic dTpw", cookie: validSession }), "allowed"],
    ["a valid OAuth bearer token", () => ({ authorization: `Bearer ${validOAuth}` }), "allowed"],
    ["an invalid x-api-key beside a valid OAuth bearer token", () => ({ "x-api-key": invalidKey, authorization: `Bearer ${validOAuth}` }), "401 invalid api key"],
    ["an empty x-api-key beside a valid OAuth bearer token", () => ({ "x-api-key": "", authorization: `Bearer ${validOAuth}` }), "401 invalid api key"],
    ["a valid x-api-key beside a revoked OAuth bearer token", () => ({ "x-api-key": validKey, authorization: `Bearer ${revokedOAuth}` }), "allowed"],
    ["a valid OAuth bearer token beside an invalid session cookie", () => ({ authorization: `Bearer ${validOAuth}`, cookie: cookie("x.y") }), "allowed"],
    ["a revoked OAuth bearer token beside a valid session cookie", () => ({ authorization: `Bearer ${revokedOAuth}`, cookie: validSession }), "401 invalid token"],
    ["an OAuth bearer token under another scheme (ignored) with a valid session cookie", () => ({ authorization: `Token ${validOAuth}`, cookie: validSession }), "allowed"],
    ["an unrelated cookie only", () => ({ cookie: "theme=dark" }), "401 missing credentials"],
    // Two Authorization headers arrive comma-joined (SPEC §1).
    ["a Bearer key after a Basic value (two Authorization headers)", () => ({ authorization: `Basic dTpw, Bearer ${validKey}` }), "allowed"],
    ["a Bearer key after a Basic value, beside an invalid session cookie", () => ({ authorization: `Basic dTpw, Bearer ${validKey}`, cookie: cookie("x.y") }), "allowed"],
    ["an invalid Bearer after a Basic value, beside a valid session cookie", () => ({ authorization: "Basic dTpw, Bearer nope", cookie: validSession }), "401 invalid token"],
    ["two Bearer values (a valid key and a valid OAuth token)", () => ({ authorization: `Bearer ${validKey}, Bearer ${validOAuth}` }), "401 invalid token"],
    ["two Bearer values after a Basic value", () => ({ authorization: `Basic dTpw, Bearer ${validKey}, Bearer ${validKey}` }), "401 invalid token"],
  ])("%s: %s", async (_, headers, expected) => {
    expect(await outcome(headers())).toBe(expected);
  });
});
