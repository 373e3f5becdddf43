/** @jsxImportSource hono/jsx */
/**
 * @module
 * The ops console at `/_keygate/console` (SPEC §8a): server-rendered pages (hono/jsx) over the
 * admin API, which they call in-process with the user's session (./api), so the console can read
 * and change exactly what that session may through the API, audited the same way.
 *
 * Every answer carries a strict CSP (nothing inline, scripts and styles from 'self' only, no
 * framing, forms post only here), `no-store`, and `same-origin` referrers (so form posts carry
 * their Origin). Every form post must come from this origin (CSRF).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { csrf } from "hono/csrf";
import { jsxRenderer } from "hono/jsx-renderer";
import { secureHeaders } from "hono/secure-headers";
import { handleError, KeygateError } from "../errors";
import { limitBody } from "../http/input";
import { consoleApi, type WorkerFetch } from "./api";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets";
import type { ConsoleEnv } from "./context";
import { Frame, Notice, type FrameProps, type OrgChoice } from "./layout";
import { auditPage } from "./pages/audit";
import { keyPage } from "./pages/key";
import { createKeyPost, keyActionPost, newKeyPage } from "./pages/key-actions";
import { keysPage } from "./pages/keys";
import { invitePost, membersPage } from "./pages/members";
import { acceptInvitationPost, invitationPage } from "./pages/invitation";
import { startPage } from "./pages/start";
import { overviewPage } from "./pages/overview";
import { ApiFailure, unwrap } from "./pages/parts";
import { signInPage, signUpPage } from "./pages/sign-in";
import { CONSOLE_BASE, orgPath } from "./paths";

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props: Omit<FrameProps, "children" | "org" | "orgs">): Response | Promise<Response>;
  }
}

/** The CSP of every console answer. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Form posts from another origin are refused with the contract's 403, not Hono's plain-text one. */
function sameOriginForms(): MiddlewareHandler<ConsoleEnv> {
  const check = csrf();
  return async function sameOriginFormsMiddleware(c, next) {
    let passed = false;
    try {
      await check(c, async () => {
        passed = true;
        await next();
      });
    } catch (error) {
      if (!passed && error instanceof HTTPException && !(error instanceof KeygateError)) throw new KeygateError("FORBIDDEN", "origin_not_allowed");
      throw error;
    }
  };
}

/** The console, calling the admin API through `workerFetch` (the Worker's own fetch). */
export function createConsole(workerFetch: WorkerFetch): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();

  app.use(async (c, next) => {
    await next();
    c.header("content-security-policy", CONSOLE_CSP);
    c.header("cache-control", "no-store");
  });
  app.use(secureHeaders({ xFrameOptions: "DENY", referrerPolicy: "same-origin", contentSecurityPolicy: undefined }));
  app.use(sameOriginForms(), limitBody());
  app.use(async (c, next) => {
    c.set("api", consoleApi(c, workerFetch));
    await next();
  });
  app.use(
    jsxRenderer(({ children, ...props }, c) => (
      <Frame {...(props as FrameProps)} org={c.get("org")} orgs={c.get("orgs")}>
        {children}
      </Frame>
    )),
  );

  app.get("/assets/console.css", (c) => c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/assets/console.js", (c) => c.body(CONSOLE_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/sign-in", (c) => signInPage(c));
  app.get("/sign-up", signUpPage);

  app.get("/", (c) => startPage(c));
  app.get("/invitations/:token", invitationPage);
  app.post("/invitations/:token", acceptInvitationPost);
  app.get("/switch", (c) => c.redirect(orgPath(c.req.query("org") ?? ""), 303));

  const org = new Hono<ConsoleEnv>();
  org.use(async (c, next) => {
    const orgs = unwrap(await c.var.api.get<OrgChoice[]>("/orgs"));
    const current = orgs.find((choice) => choice.id === c.req.param("org"));
    if (!current) throw new ApiFailure({ ok: false, status: 404, code: "NOT_FOUND", message: "not found" });
    c.set("orgs", orgs);
    c.set("org", current);
    await next();
  });
  org.get("/", overviewPage);
  org.get("/keys", keysPage);
  org.get("/keys/new", (c) => newKeyPage(c));
  org.post("/keys", createKeyPost);
  org.get("/keys/:id", keyPage);
  org.post("/keys/:id/:action", keyActionPost);
  org.get("/audit", auditPage);
  org.get("/members", (c) => membersPage(c));
  org.post("/members", invitePost);
  app.route("/:org", org);

  app.onError((error, c) => {
    if (!(error instanceof ApiFailure)) return handleError(error, c);
    const { result } = error;
    if (result.status === 401) {
      const next = new URL(c.req.url);
      return c.redirect(`${CONSOLE_BASE}/sign-in?next=${encodeURIComponent(next.pathname + next.search)}`, 303);
    }
    c.status(result.status as 404);
    return c.render(
      <Notice kind="error">
        <p>
          <strong>{result.status === 404 ? "Not found." : `${result.status} ${result.code}: ${result.message}`}</strong>
        </p>
        <p>
          <a href={CONSOLE_BASE}>Back to the console</a>
        </p>
      </Notice>,
      { title: result.status === 404 ? "Not found" : "Error" },
    );
  });
  return app;
}
