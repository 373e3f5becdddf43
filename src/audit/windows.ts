/**
 * @module
 * How long each audit tier keeps events, read from vars once per isolate:
 * `AUDIT_HOT_DAYS` (default 7) of full events in D1, at most `AUDIT_HOT_MAX_EVENTS` of them (default
 * 8 M, about 7 GB: the hot window shrinks at high traffic instead of filling D1), and
 * `AUDIT_RETENTION_DAYS` (default 90) in the R2 archive and the hourly rollups.
 */
import type { Bindings } from "../env";
import { oncePer } from "../core/memo";

export interface AuditWindows {
  hotDays: number;
  hotMaxEvents: number;
  retentionDays: number;
}

type WindowVars = Pick<Bindings, "AUDIT_HOT_DAYS" | "AUDIT_RETENTION_DAYS" | "AUDIT_HOT_MAX_EVENTS">;

export const auditWindows: (env: WindowVars) => AuditWindows = oncePer((env: WindowVars) => {
  const retentionDays = positiveInt("AUDIT_RETENTION_DAYS", env.AUDIT_RETENTION_DAYS, 90);
  const hotDays = positiveInt("AUDIT_HOT_DAYS", env.AUDIT_HOT_DAYS, 7);
  if (hotDays > retentionDays) throw new TypeError(`AUDIT_HOT_DAYS (${hotDays}) must not exceed AUDIT_RETENTION_DAYS (${retentionDays})`);
  return { hotDays, retentionDays, hotMaxEvents: positiveInt("AUDIT_HOT_MAX_EVENTS", env.AUDIT_HOT_MAX_EVENTS, 8_000_000) };
});

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}
