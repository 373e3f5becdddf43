/**
 * Node-side helpers for the OAuth end-to-end tests (test/e2e/oauth-*.test.ts): a user with an org
 * on a locally started Worker, through better-auth's HTTP API as a browser would use it, and a
 * loopback server standing in for a client's redirect URI or metadata document.
 */
import { createServer } from "node:http";

export const PASSWORD = "correct horse battery staple";

export interface E2eUser {
  email: string;
  userId: string;
  /** `better-auth.session_token=…` (the Worker runs on http: no `__Secure-` name). */
  cookie: string;
  orgId: string;
}

/** Signs a new user up and creates an org they own. Server-side callers must send a trusted Origin. */
export async function signUpWithOrg(workerUrl: string, name: string): Promise<E2eUser> {
  const email = `${crypto.randomUUID()}@example.com`;
  const headers = { "content-type": "application/json", origin: workerUrl };
  const signUp = await fetch(`${workerUrl}/_keygate/auth/sign-up/email`, { method: "POST", headers, body: JSON.stringify({ name, email, password: PASSWORD }) });
  if (signUp.status !== 200) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  const cookie = signUp.headers.getSetCookie().find((line) => line.startsWith("better-auth.session_token="))!.split(";", 1)[0]!;
  const userId = ((await signUp.json()) as { user: { id: string } }).user.id;
  const org = await fetch(`${workerUrl}/_keygate/auth/organization/create`, {
    method: "POST",
    headers: { ...headers, cookie },
    body: JSON.stringify({ name: `${name}'s org`, slug: `org-${crypto.randomUUID()}` }),
  });
  if (org.status !== 200) throw new Error(`create org: ${org.status} ${await org.text()}`);
  return { email, userId, cookie, orgId: ((await org.json()) as { id: string }).id };
}

/** The hidden fields of a Keygate page's form. */
export function hiddenFields(page: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1]!] = match[2]!.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  }
  return fields;
}

export interface LoopbackServer {
  origin: string;
  /** Every request's path and query, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server answering every request with `answer(path)` (JSON bodies as JSON). */
export async function serveLoopback(answer: (path: string, origin: string) => { status?: number; body: unknown }): Promise<LoopbackServer> {
  const requests: string[] = [];
  let origin = "";
  const server = createServer((req: { url: string }, res: { writeHead(status: number, headers: Record<string, string>): void; end(body: string): void }) => {
    requests.push(req.url);
    const { status = 200, body } = answer(req.url, origin);
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/html" : "application/json" });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
