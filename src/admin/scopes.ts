/**
 * @module
 * `GET /_keygate/v1/scopes` (public): the catalog, wildcards and presets of the policy, the rate
 * limits and quota each preset gives a key made from it (`preset_limits`, beside `presets` so that
 * `presets` stays a name → scopes map for existing clients), and Keygate's own admin scopes.
 */
import { Hono } from "hono";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { KEYGATE_SCOPES } from "../core/scope-grammar";

export const scopes = new Hono<KeygateEnv>();

scopes.get("/", (c) => {
  const { catalog, presetLimits } = loadPolicy(c.env);
  return c.json({ ok: true, data: { ...catalog, preset_limits: presetLimits, keygate: KEYGATE_SCOPES } });
});
