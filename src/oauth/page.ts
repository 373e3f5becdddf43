/**
 * @module
 * The verification page of the device flow (`/_keygate/oauth/device`), server-rendered with
 * hono/html, which escapes every interpolated value. Four views: sign in, enter a code, consent
 * (client, org, project, each scope with its description and whether the user's role allows it),
 * and the outcome. The page may not be framed (clickjacking on Approve) and loads nothing.
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { DeviceAuthorization } from "../db/oauth";
import type { Membership } from "../db/orgs";
import type { Catalog } from "../gateway/scopes";
import { describeScope, isOrgAdminRole, mayConsentTo, needsOrgAdmin } from "./consent";
import { displayUserCode } from "./device";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export const DEVICE_PAGE_PATH = "/_keygate/oauth/device";
const SIGN_IN_PATH = "/_keygate/auth/sign-in/email";

/** Headers of every view: no framing, no third-party anything, never cached. */
export const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
} as const;

function layout(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keygate</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1a1a1a; }
code { background: #f2f2f2; padding: 0 .25rem; border-radius: 3px; }
li.refused { color: #8a8a8a; }
.note { color: #8a1f11; }
button, input, select { font: inherit; padding: .35rem .6rem; }
</style>
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>`;
}

/** Not signed in: email and password, signed in through better-auth, then this page again. */
export function signInView(): Html {
  return layout(
    "Sign in to continue",
    html`<form id="sign-in">
<p><label>Email <input name="email" type="email" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
<p class="note" id="sign-in-error" role="alert"></p>
</form>
<script>
document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const res = await fetch("${SIGN_IN_PATH}", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
    credentials: "same-origin",
  });
  if (res.ok) location.reload();
  else document.getElementById("sign-in-error").textContent = "Sign-in failed: check your email and password.";
});
</script>`,
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

export interface ConsentViewInput {
  device: DeviceAuthorization;
  memberships: readonly Membership[];
  catalog: Catalog;
}

/** The request and Approve / Deny, posted back with the session cookie. */
export function consentView({ device, memberships, catalog }: ConsentViewInput): Html {
  const requestedOrg = device.org_id === null ? undefined : memberships.find((m) => m.org_id === device.org_id);
  const fixedRole = requestedOrg?.role ?? (memberships.length === 1 ? memberships[0]!.role : undefined);
  const canApprove = device.org_id === null ? memberships.length > 0 : requestedOrg !== undefined;
  const adminSomewhere = memberships.some((m) => isOrgAdminRole(m.role));
  const scopeItem = (scope: string) => {
    const grantable = fixedRole === undefined ? !needsOrgAdmin(scope) || adminSomewhere : mayConsentTo(fixedRole, scope);
    const note = !grantable
      ? " — not grantable: needs the owner or admin role"
      : fixedRole === undefined && needsOrgAdmin(scope)
        ? " — granted only in an org where you are owner or admin"
        : "";
    return html`<li class="${grantable ? "grantable" : "refused"}"><code>${scope}</code>: ${describeScope(scope, catalog)}${note}</li>`;
  };
  return layout(
    "Authorize a device",
    html`<p><strong>${device.client_id}</strong> asks to act as you with code <code>${displayUserCode(device.user_code)}</code>.
Only approve if your device shows this code.</p>
<form method="post" action="${DEVICE_PAGE_PATH}">
<input type="hidden" name="user_code" value="${device.user_code}">
${orgField(device, memberships, requestedOrg)}
${device.project_id === null ? "" : html`<p>Project: <code>${device.project_id}</code> only</p>`}
<p>Requested access:</p>
<ul>${device.scopes.map(scopeItem)}</ul>
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
