/**
 * @module
 * Streaming audit exports: NDJSON and CSV, produced page by page from D1 so a 100k-row export
 * never sits in memory whole.
 */
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from "../schemas/audit-event";

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
      if (!started && format === "csv") controller.enqueue(encoder.encode(`${AUDIT_EVENT_COLUMNS.join(",")}\r\n`));
      started = true;
      let events: AuditEvent[];
      try {
        events = await nextPage(beforeId);
      } catch (error) {
        // Abort the body rather than end it: a cut-off export must not look complete.
        console.error(JSON.stringify({ level: "error", msg: "audit export aborted", error: String(error) }));
        controller.error(error);
        return;
      }
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
  return `${AUDIT_EVENT_COLUMNS.map((column) => csvCell(event[column])).join(",")}\r\n`;
}

/**
 * One CSV cell: RFC 4180 quoting, and a leading `'` on text a spreadsheet would run as a formula
 * (cells starting with `=`, `+`, `-`, `@`, tab or carriage return).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
