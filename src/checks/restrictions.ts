/**
 * @module
 * Per-key checks after the credential, in the contract's order: revocation, validity window, IP,
 * Origin (SPEC §4, §7). In report mode an IP or Origin violation passes and is recorded instead.
 */
import type { Context, MiddlewareHandler } from "hono";
import { KeygateError } from "../errors";
import type { ActiveKey } from "../caller/active-key";
import type { CallerEnv } from "../http/context";
import { isIpAllowed } from "../core/ip";
import { isOriginAllowed } from "../core/origin";
import { unauthorized } from "../http/challenge";
import { invalidApiKey } from "./resolve-caller";

/** Enforces the restrictions of an API key caller; other callers pass untouched. */
export function checkKeyRestrictions(): MiddlewareHandler<CallerEnv> {
  return async function checkKeyRestrictionsMiddleware(c, next) {
    const caller = c.get("caller");
    if (caller.kind === "api_key") enforce(c, caller.key, Date.now());
    await next();
  };
}

function enforce(c: Context<CallerEnv>, key: ActiveKey, now: number): void {
  if (key.revoked) throw invalidApiKey(c);
  if (key.notBefore !== null && now < key.notBefore) throw unauthorized(c, "api key not yet valid");
  if (key.expiresAt !== null && now >= key.expiresAt) throw unauthorized(c, "api key expired");

  const violation = !isIpAllowed(key.ips, c.req.header("cf-connecting-ip"))
    ? "ip_not_allowed"
    : !isOriginAllowed(key.origins, c.req.header("origin"))
      ? "origin_not_allowed"
      : undefined;
  if (violation === undefined) return;
  if (!key.reportOnly) throw new KeygateError("FORBIDDEN", violation);
  c.set("wouldDeny", violation);
}
