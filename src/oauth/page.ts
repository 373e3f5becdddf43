/**
 * @module
 * Keygate's own HTML pages under `/_keygate/oauth`: the device flow's verification page, the
 * consent page of the authorization-code flow, and the sign-in form both show when signed out.
 * Server-rendered with hono/html, which escapes every interpolated value. The pages run no script,
 * load only their own stylesheet, may not be framed (clickjacking on Approve) and post their forms
 * only to Keygate (and, for consent, to the client's redirect origin it then redirects to).
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { DeviceAuthorization } from "../db/oauth";
import type { KeygateError } from "../errors";
import type { Membership } from "../db/orgs";
import type { Catalog } from "../core/scopes";
import { describeScope, isOrgAdminRole, mayConsentTo, needsOrgAdmin } from "./consent";
import { displayUserCode } from "./device";
import { FORM_TOKEN_FIELD } from "./form-guard";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export const OAUTH_BASE_PATH = "/_keygate/oauth";
export const DEVICE_PAGE_PATH = `${OAUTH_BASE_PATH}/device`;
const SIGN_IN_PATH = `${OAUTH_BASE_PATH}/sign-in`;
const STYLESHEET_PATH = `${OAUTH_BASE_PATH}/page.css`;

/**
 * Headers of every page: a strict CSP (nothing but the own stylesheet; forms post to Keygate and
 * to `formTargets`, the origins a form's answer redirects to), no framing, never cached. The
 * referrer policy `same-origin` makes browsers send the page's real `Origin` with its forms (with
 * `no-referrer` they send `Origin: null`) while other sites never see a Keygate URL.
 */
export function pageHeaders(formTargets: readonly string[] = []): Record<string, string> {
  const formAction = ["'self'", ...formTargets].join(" ");
  return {
    "content-security-policy": `default-src 'none'; style-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
  };
}

/** The pages' one stylesheet (served at {@link STYLESHEET_PATH}, so the CSP needs no `unsafe-inline`). */
export const STYLESHEET = `body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1a1a1a; }
code { background: #f2f2f2; padding: 0 .25rem; border-radius: 3px; }
li.refused { color: #8a8a8a; }
.note { color: #8a1f11; }
button, input, select { font: inherit; padding: .35rem .6rem; }
`;

export function layout(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keygate</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>`;
}

/**
 * Not signed in: email and password, posted to Keygate's sign-in form (which signs in through
 * better-auth and redirects back to `returnTo`).
 */
export function signInView(returnTo: string, message?: string): Html {
  return layout(
    "Sign in to continue",
    html`${message === undefined ? "" : html`<p class="note" role="alert">${message}</p>`}
<form method="post" action="${SIGN_IN_PATH}">
<input type="hidden" name="return_to" value="${returnTo}">
<p><label>Email <input name="email" type="email" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/** Signed in, without a (valid) code: a form to type it. */
export function enterCodeView(message?: string): Html {
  return layout(
    "Connect a device",
    html`${message === undefined ? "" : html`<p class="note">${message}</p>`}
<form method="get" action="${DEVICE_PAGE_PATH}">
<p><label>Code shown on your device <input name="user_code" placeholder="ABCD-EFGH" autocomplete="off" required></label></p>
<p><button type="submit">Continue</button></p>
</form>`,
  );
}

/**
 * The requested scopes, each with its catalog description and whether the user's role allows it:
 * `role` is the user's role in the org the grant is for, `undefined` while the user still picks it.
 */
export function scopeList(scopes: readonly string[], role: string | undefined, memberships: readonly Membership[], catalog: Catalog): Html {
  const adminSomewhere = memberships.some((m) => isOrgAdminRole(m.role));
  const scopeItem = (scope: string) => {
    const grantable = role === undefined ? !needsOrgAdmin(scope) || adminSomewhere : mayConsentTo(role, scope);
    const note = !grantable
      ? " — not grantable: needs the owner or admin role"
      : role === undefined && needsOrgAdmin(scope)
        ? " — granted only in an org where you are owner or admin"
        : "";
    return html`<li class="${grantable ? "grantable" : "refused"}"><code>${scope}</code>: ${describeScope(scope, catalog)}${note}</li>`;
  };
  return html`<p>Requested access:</p>
<ul>${scopes.map(scopeItem)}</ul>`;
}

export interface ConsentViewInput {
  device: DeviceAuthorization;
  memberships: readonly Membership[];
  catalog: Catalog;
  formToken: string;
}

/** The request and Approve / Deny, posted back with the session cookie and the form token. */
export function consentView({ device, memberships, catalog, formToken }: ConsentViewInput): Html {
  const requestedOrg = device.org_id === null ? undefined : memberships.find((m) => m.org_id === device.org_id);
  const fixedRole = requestedOrg?.role ?? (memberships.length === 1 ? memberships[0]!.role : undefined);
  const canApprove = device.org_id === null ? memberships.length > 0 : requestedOrg !== undefined;
  return layout(
    "Authorize a device",
    html`<p><strong>${device.client_id}</strong> asks to act as you with code <code>${displayUserCode(device.user_code)}</code>.
Only approve if your device shows this code.</p>
<form method="post" action="${DEVICE_PAGE_PATH}">
<input type="hidden" name="user_code" value="${device.user_code}">
<input type="hidden" name="${FORM_TOKEN_FIELD}" value="${formToken}">
${orgField(device, memberships, requestedOrg)}
${device.project_id === null ? "" : html`<p>Project: <code>${device.project_id}</code> only</p>`}
${scopeList(device.scopes, fixedRole, memberships, catalog)}
<p>${canApprove ? html`<button type="submit" name="action" value="approve">Approve</button> ` : ""}<button type="submit" name="action" value="deny">Deny</button></p>
</form>`,
  );
}

function orgField(device: DeviceAuthorization, memberships: readonly Membership[], requestedOrg: Membership | undefined): Html {
  if (device.org_id !== null) {
    if (requestedOrg === undefined) return html`<p class="note">The device asks for org <code>${device.org_id}</code>, which you are not a member of.</p>`;
    return html`<p>Org: <strong>${requestedOrg.org_name}</strong></p><input type="hidden" name="org_id" value="${requestedOrg.org_id}">`;
  }
  if (memberships.length === 0) return html`<p class="note">You are not a member of any org yet.</p>`;
  const options = memberships.map((m) => html`<option value="${m.org_id}">${m.org_name} (${m.role})</option>`);
  return html`<p><label>Org <select name="org_id">${options}</select></label></p>`;
}

/** After a decision (or a refused one), for browsers. */
export function outcomeView(title: string, message: string): Html {
  return layout(title, html`<p>${message}</p><p><a href="${DEVICE_PAGE_PATH}">Connect another device</a></p>`);
}

/** An error that is not sent back to a client (an unknown client or redirect URI, a bad form). */
export function errorView(title: string, message: string): Html {
  return layout(title, html`<p class="note">${message}</p>`);
}

/** A refused decision in words, for a page. */
export function explainError(error: KeygateError): string {
  const issues = error.details?.issues;
  if (Array.isArray(issues)) return issues.map((issue: { path: string; message: string }) => `${issue.path} ${issue.message}`).join("; ");
  const reason = error.details?.reason;
  return typeof reason === "string" ? reason : error.message;
}
