/**
 * @module
 * The consent page of the authorization-code flow (`/_keygate/oauth/authorize`): which application
 * asks (its name and client id), where the answer goes (the redirect URI's origin), for which
 * resource, each requested scope with its catalog description (the device flow's list), and a
 * choice of org, or one project of an org. Its CSP lets the form's answer redirect to the client.
 */
import { html } from "hono/html";
import type { Membership, ProjectRecord } from "../db/orgs";
import type { Catalog } from "../core/scopes";
import type { AuthorizationRequest } from "./authorize";
import { FORM_TOKEN_FIELD } from "./form-guard";
import { layout, OAUTH_BASE_PATH, scopeList, type Html } from "./page";

export const AUTHORIZE_PATH = `${OAUTH_BASE_PATH}/authorize`;

export interface AuthorizeViewInput {
  request: AuthorizationRequest;
  memberships: readonly Membership[];
  projects: readonly ProjectRecord[];
  catalog: Catalog;
  formToken: string;
}

export function authorizeView({ request, memberships, projects, catalog, formToken }: AuthorizeViewInput): Html {
  const { client, fields } = request;
  const redirectOrigin = new URL(request.redirectUri).origin;
  const role = memberships.length === 1 ? memberships[0]!.role : undefined;
  const hidden = Object.entries(fields).map(([name, value]) => (value === undefined ? "" : html`<input type="hidden" name="${name}" value="${value}">`));
  return layout(
    "Authorize an application",
    html`<p><strong>${client.name ?? client.clientId}</strong> asks to act as you.</p>
<p>Client id: <code>${client.clientId}</code><br>It will get its answer at <code>${redirectOrigin}</code>.</p>
${request.resource === null ? "" : html`<p>For: <code>${request.resource}</code></p>`}
<form method="post" action="${AUTHORIZE_PATH}">
${hidden}
<input type="hidden" name="${FORM_TOKEN_FIELD}" value="${formToken}">
${targetField(memberships, projects)}
${scopeList(request.scopes, role, memberships, catalog)}
<p>${memberships.length > 0 ? html`<button type="submit" name="action" value="approve">Approve</button> ` : ""}<button type="submit" name="action" value="deny">Deny</button></p>
</form>`,
  );
}

function targetField(memberships: readonly Membership[], projects: readonly ProjectRecord[]): Html {
  if (memberships.length === 0) return html`<p class="note">You are not a member of any org yet.</p>`;
  const options = memberships.map(
    (m) => html`<option value="${m.org_id}">${m.org_name} (${m.role}): every project</option>
${projects.filter((p) => p.org_id === m.org_id).map((p) => html`<option value="${m.org_id}/${p.id}">${m.org_name} › project ${p.name} (${p.id}) only</option>`)}`,
  );
  return html`<p><label>Act for <select name="target">${options}</select></label></p>`;
}
