/** @jsxImportSource hono/jsx */
/**
 * @module
 * The console's page frame: the header with the org switcher and navigation, and the document
 * around each page. Everything is server-rendered and escaped by hono/jsx; the only script is the
 * console's own static file.
 */
import type { Child } from "hono/jsx";
import { CONSOLE_BASE } from "./paths";

export interface OrgChoice {
  id: string;
  name: string;
  role: string;
}

export interface FrameProps {
  title: string;
  org?: OrgChoice;
  orgs?: readonly OrgChoice[];
  section?: "overview" | "keys" | "audit" | "members";
  children?: Child;
}

/** The document: head, header (when signed in to an org) and the page's content. */
export function Frame(props: FrameProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Keygate console`}</title>
        <link rel="stylesheet" href={`${CONSOLE_BASE}/assets/console.css`} />
        <script src={`${CONSOLE_BASE}/assets/console.js`} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        {props.org && <Header org={props.org} orgs={props.orgs ?? [props.org]} section={props.section} />}
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

function Header(props: { org: OrgChoice; orgs: readonly OrgChoice[]; section: FrameProps["section"] }) {
  const base = `${CONSOLE_BASE}/${props.org.id}`;
  const link = (section: NonNullable<FrameProps["section"]>, href: string, label: string) => (
    <a href={href} aria-current={props.section === section ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <header class="top">
      <a class="brand" href={base}>
        Keygate
      </a>
      <nav aria-label="Console">
        {link("overview", base, "Overview")}
        {link("keys", `${base}/keys`, "Keys")}
        {link("audit", `${base}/audit`, "Audit log")}
        {link("members", `${base}/members`, "Members")}
      </nav>
      <span class="spacer"></span>
      <form method="get" action={`${CONSOLE_BASE}/switch`} class="filters">
        <label class="inline">
          Org
          <select name="org" data-autosubmit>
            {props.orgs.map((org) => (
              <option value={org.id} selected={org.id === props.org.id}>
                {`${org.name} (${org.role})`}
              </option>
            ))}
          </select>
        </label>
        <noscript>
          <button type="submit" class="secondary">
            Switch
          </button>
        </noscript>
      </form>
      <button type="button" class="secondary" data-sign-out>
        Sign out
      </button>
    </header>
  );
}

/** A notice box: what just happened, or what went wrong. */
export function Notice(props: { kind: "ok" | "warn" | "error"; children?: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}
