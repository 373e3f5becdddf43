/**
 * @module
 * How the console prints values: times in UTC to the minute, empty values as a dash.
 */

/** `2026-12-01 09:53 UTC`-style (without the zone; the pages say times are UTC), or `—`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A value of a `<input type="datetime-local">` (read as UTC) as ISO 8601, or `undefined`. */
export function fromLocalInput(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00.000Z` : value;
  return Number.isNaN(Date.parse(iso)) ? undefined : new Date(iso).toISOString();
}

/** An ISO time as a `datetime-local` value (UTC). */
export function toLocalInput(iso: string | undefined): string {
  return iso ? iso.slice(0, 16) : "";
}

/** One entry per non-empty line (allowlist textareas). */
export function lines(text: string | undefined): string[] {
  return (text ?? "")
    .split(/[\r\n,]+/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}
