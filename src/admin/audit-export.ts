/**
 * @module
 * Streaming audit exports: NDJSON and CSV, produced page by page from D1 so a 100k-row export
 * never sits in memory whole.
 */
import type { AuditEvent } from "../schemas/audit-event";

export const EXPORT_COLUMNS = [
  "id", "ts", "request_id", "client_request_id", "org_id", "project_id", "key_id", "key_prefix", "caller", "outcome",
  "reason", "status", "method", "path", "ip", "origin", "country", "colo", "user_agent", "latency_ms",
  "required_scopes", "missing_scopes", "action", "target_id",
] as const satisfies readonly (keyof AuditEvent)[];

export type ExportFormat = "ndjson" | "csv";

/** Pages of events, newest first; an empty page ends the export. */
export type PageSource = (beforeId: string | undefined) => Promise<AuditEvent[]>;

/** A byte stream of every event `nextPage` yields, in `format`. */
export function exportStream(format: ExportFormat, nextPage: PageSource): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let beforeId: string | undefined;
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      if (!started && format === "csv") controller.enqueue(encoder.encode(`${EXPORT_COLUMNS.join(",")}\r\n`));
      started = true;
      const events = await nextPage(beforeId);
      if (events.length === 0) {
        controller.close();
        return;
      }
      beforeId = events.at(-1)?.id;
      const lines = events.map(format === "csv" ? csvLine : (event) => `${JSON.stringify(event)}\n`);
      controller.enqueue(encoder.encode(lines.join("")));
    },
  });
}

function csvLine(event: AuditEvent): string {
  return `${EXPORT_COLUMNS.map((column) => csvCell(event[column])).join(",")}\r\n`;
}

/**
 * One CSV cell: RFC 4180 quoting, and a leading `'` on text a spreadsheet would run as a formula
 * (cells starting with `=`, `+`, `-`, `@`, tab or carriage return).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = Array.isArray(value) ? value.join(" ") : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
