// Web pages of other origins for browser tests: a loopback server per origin, and the repository's
// policy with chosen CORS origins. Plain JS like local-worker.mjs.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { ROOT } from "./local-worker.mjs";

/**
 * Serves an empty HTML page on every path of a fresh loopback origin; `?action=<url>` serves a
 * page whose one form POSTs to that URL. Returns { origin, close }.
 */
export async function servePages() {
  const server = createServer((req, res) => {
    const action = new URL(req.url, "http://pages").searchParams.get("action");
    res.writeHead(200, { "content-type": "text/html" });
    res.end(action ? `<!doctype html><form method="post" action="${action}"><button>go</button></form>` : "<!doctype html><title>app</title>");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** policy.json as a POLICY value whose `cors.origins` are exactly `origins`. */
export function policyWithCorsOrigins(origins) {
  const policy = JSON.parse(readFileSync(join(ROOT, "policy.json"), "utf8"));
  policy.cors = { ...policy.cors, origins };
  return JSON.stringify(policy);
}
