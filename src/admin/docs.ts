/**
 * @module
 * `GET /_keygate/docs` (public): the admin API reference, rendered on the server from the same
 * OpenAPI document as `/_keygate/v1/openapi.json`. No script and no third-party asset (a hosted
 * reference UI would need a CDN and a looser CSP); its one stylesheet is allowed by its hash.
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import type { KeygateEnv } from "../http/context";
import { buildOpenApiDocument } from "./openapi";

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h2{margin-top:2rem;font-size:1.05rem;font-family:ui-monospace,monospace}code,pre{font-family:ui-monospace,monospace}
pre{background:#f4f4f5;padding:.75rem;overflow:auto;border-radius:6px;font-size:13px}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.25rem .75rem .25rem 0;text-align:left;vertical-align:top}.scope{color:#555}`;

interface DocumentedOperation {
  summary: string;
  "x-required-scope"?: string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: { "application/json": { schema: unknown } } };
}

let page: Promise<{ body: string; csp: string }> | undefined;

async function renderPage(): Promise<{ body: string; csp: string }> {
  const document = buildOpenApiDocument();
  const sections = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods as Record<string, DocumentedOperation>).map(([method, operation]) => renderOperation(method, path, operation)),
  );
  const body = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Keygate admin API</title>
        <style>${raw(STYLE)}</style>
      </head>
      <body>
        <h1>Keygate admin API <small>${document.info.version}</small></h1>
        <p>Base path <code>/_keygate/v1</code>. Machine-readable: <a href="/_keygate/v1/openapi.json">/_keygate/v1/openapi.json</a> (OpenAPI 3.1).</p>
        ${sections}
      </body>
    </html>`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(STYLE));
  const styleHash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { body: String(await body), csp };
}

function renderOperation(method: string, path: string, operation: DocumentedOperation) {
  const access = operation.security.length === 0 ? "public" : (operation["x-required-scope"] ?? "ADMIN_TOKEN only");
  const body = operation.requestBody?.content["application/json"].schema;
  return html`<section>
    <h2>${method.toUpperCase()} ${path}</h2>
    <p>${operation.summary} <span class="scope">(${access})</span></p>
    ${operation.parameters.length > 0
      ? html`<table>
          <tr><th>parameter</th><th>in</th><th>schema</th></tr>
          ${operation.parameters.map(
            (p) => html`<tr><td><code>${p.name}</code>${p.required ? " *" : ""}</td><td>${p.in}</td><td><code>${JSON.stringify(p.schema)}</code></td></tr>`,
          )}
        </table>`
      : ""}
    ${body ? html`<p>Body (application/json):</p><pre>${JSON.stringify(body, null, 2)}</pre>` : ""}
  </section>`;
}

export const docs = new Hono<KeygateEnv>();

docs.get("/", async (c) => {
  page ??= renderPage();
  const { body, csp } = await page;
  return c.html(body, 200, { "content-security-policy": csp, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" });
});
