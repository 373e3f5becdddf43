/**
 * @module
 * What the console (and `GET /keys?state=`) call a key's state. One primary state — `revoked`,
 * `expired`, `grace` (rotated, the old key still working until its grace ends), `expiring`
 * (within 7 days) or `active` — and two flags of a working key: `report` (report mode) and `stale`
 * (not used for 30 days; a key never used counts from its creation). The SQL twin of these rules
 * is `keyStateCondition` in src/db/keys.ts; a test pins that both agree.
 */
import { z } from "zod";
import type { KeyRecord } from "./key";

export const KEY_STATES = ["active", "expiring", "expired", "revoked", "grace", "report", "stale"] as const;
export const KeyStateSchema = z.enum(KEY_STATES);
export type KeyState = z.infer<typeof KeyStateSchema>;

export const EXPIRING_WITHIN_MS = 7 * 86_400_000;
export const STALE_AFTER_MS = 30 * 86_400_000;

type StateFields = Pick<KeyRecord, "revoked_at" | "expires_at" | "rotated_to" | "restrictions_mode" | "last_used_at" | "created_at">;

/** The key's primary state first, then its flags. */
export function keyStates(key: StateFields, now = Date.now()): KeyState[] {
  if (key.revoked_at !== null) return ["revoked"];
  const expiresAt = key.expires_at === null ? Infinity : Date.parse(key.expires_at);
  if (expiresAt <= now) return ["expired"];
  const states: KeyState[] = [key.rotated_to !== null ? "grace" : expiresAt <= now + EXPIRING_WITHIN_MS ? "expiring" : "active"];
  if (key.restrictions_mode === "report") states.push("report");
  if (Date.parse(key.last_used_at ?? key.created_at) < now - STALE_AFTER_MS) states.push("stale");
  return states;
}
