/**
 * @module
 * `GET /_keygate/v1/scopes` (public): the catalog, wildcards and presets of the policy, and
 * Keygate's own admin scopes.
 */
import { Hono } from "hono";
import type { KeygateEnv } from "../http/context";
import { loadPolicy } from "../policy/compile";
import { KEYGATE_SCOPES } from "../core/scope-grammar";

export const scopes = new Hono<KeygateEnv>();

scopes.get("/", (c) => {
  const { catalog } = loadPolicy(c.env);
  return c.json({ ok: true, data: { ...catalog, keygate: KEYGATE_SCOPES } });
});
