/**
 * @module
 * `GET /_keygate/health` (public): liveness, D1 reachability (probed at most every 5 s per
 * isolate), the policy's hash, the version and the settings the deployment lacks (`problems`).
 * 503 `degraded` when D1 is unreachable, the policy invalid or a setting missing.
 */
import { Hono } from "hono";
import { configProblems, getConfig } from "../env";
import { KeygateError } from "../errors";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import pkg from "../../package.json";

const PROBE_INTERVAL_MS = 5_000;

let probe: { at: number; reachable: Promise<boolean> } | undefined;
const policyHashes = new Map<string, Promise<string>>();

export const health = new Hono<KeygateEnv>();

health.get("/", async (c) => {
  const now = Date.now();
  if (!probe || now - probe.at >= PROBE_INTERVAL_MS) {
    probe = { at: now, reachable: c.env.DB.prepare("SELECT 1").first().then(() => true, () => false) };
  }
  const d1 = (await probe.reachable) ? "reachable" : "unreachable";
  const policy = await describePolicy(c.env.POLICY);
  const problems = configProblems(getConfig(c.env));
  const ok = d1 === "reachable" && policy.valid && problems.length === 0;
  return c.json({ ok, data: { status: ok ? "ok" : "degraded", d1, policy, problems, version: pkg.version } }, ok ? 200 : 503);
});

async function describePolicy(source: string | undefined) {
  try {
    const { json } = loadPolicy({ POLICY: source });
    let hash = policyHashes.get(json);
    if (!hash) {
      hash = crypto.subtle.digest("SHA-256", new TextEncoder().encode(json)).then(toHex);
      policyHashes.set(json, hash);
    }
    return { valid: true, hash: `sha256:${await hash}` };
  } catch (error) {
    return { valid: false, error: error instanceof KeygateError ? error.message : "policy could not be loaded" };
  }
}

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}
