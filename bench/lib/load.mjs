// One bounded load run with autocannon's programmatic API. Latencies are taken from autocannon's
// per-response event (sub-millisecond floats) rather than its histogram (whole milliseconds), and
// only responses with the scenario's expected status count as served.
import autocannon from "autocannon";
import { cpuMs } from "./proc.mjs";
import { percentile } from "./stats.mjs";

/**
 * What Cloudflare's edge adds to every request a Worker receives (besides CF-Connecting-IP, which
 * workerd sets from the socket), so the Workers see production's headers.
 */
const EDGE_HEADERS = { "cf-ray": "8f2b1c3d4e5f6a7b-FRA", "cf-ipcountry": "DE" };

/**
 * @param {object} o
 * @param {URL} o.url - base URL of the Worker
 * @param {string} o.path
 * @param {string} [o.method] - GET unless given
 * @param {string} [o.body] - the body of every request
 * @param {() => (Record<string,string> | null)} o.nextHeaders - headers of the next request; null when a key pool is exhausted
 * @param {number} o.expect - the status every response should have
 * @param {number} o.connections
 * @param {number} o.durationS
 * @param {number} [o.overallRate] - fixed request rate (req/s over all connections); saturation when absent
 * @param {number} [o.pid] - workerd process to charge CPU time to
 * @param {boolean} [o.keepLatencies] - return every served response's latency (ms, sorted) as `latencies`
 */
export function runLoad(o) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const statuses = {};
    let exhausted = false;
    let lastHeaders = {};
    let stopRequested = false;
    const cpuBefore = cpuMs(o.pid);
    const started = performance.now();

    let instance;
    const guard = setTimeout(() => instance?.stop(), (o.durationS + 30) * 1000);
    instance = autocannon(
      {
        url: new URL(o.path, o.url).href,
        connections: o.connections,
        duration: o.durationS,
        ...(o.overallRate && { overallRate: o.overallRate }),
        timeout: 10,
        bailout: 1000,
        requests: [
          {
            method: o.method ?? "GET",
            path: o.path,
            ...(o.body !== undefined && { body: o.body }),
            setupRequest(req) {
              const headers = o.nextHeaders();
              if (headers === null) {
                exhausted = true;
                if (!stopRequested) {
                  stopRequested = true;
                  setImmediate(() => instance.stop());
                }
                return { ...req, headers: lastHeaders };
              }
              lastHeaders = { ...EDGE_HEADERS, ...headers };
              return { ...req, headers: lastHeaders };
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(guard);
        if (error) return reject(error);
        const elapsedS = (performance.now() - started) / 1000;
        const cpuAfter = cpuMs(o.pid);
        latencies.sort((a, b) => a - b);
        const served = latencies.length;
        const total = Object.values(statuses).reduce((a, b) => a + b, 0);
        resolve({
          elapsedS,
          served,
          total,
          sent: result.requests?.sent ?? total,
          unexpected: total - served,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          exhausted,
          rps: served / elapsedS,
          latencyMs: {
            p50: percentile(latencies, 0.5),
            p90: percentile(latencies, 0.9),
            p99: percentile(latencies, 0.99),
            max: latencies.at(-1) ?? null,
          },
          ...(o.keepLatencies && { latencies }),
          cpuUsPerReq: cpuBefore !== null && cpuAfter !== null && total > 0 ? ((cpuAfter - cpuBefore) * 1000) / total : null,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode === o.expect) latencies.push(responseTime);
    });
  });
}
