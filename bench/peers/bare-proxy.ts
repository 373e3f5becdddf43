/**
 * @module
 * Peer for the bench: the physical limit of a Worker in front of the origin. It copies the request
 * headers (less `host`), fetches the same origin path and returns the origin's response: no
 * routing, no auth, no ids, no audit. Every Keygate scenario is also reported against it, because
 * whatever Keygate costs beyond it is Keygate's own work.
 */
interface Env {
  ORIGIN_URL: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    return fetch(new URL(url.pathname + url.search, env.ORIGIN_URL), { method: request.method, headers, redirect: "manual" });
  },
} satisfies ExportedHandler<Env>;
