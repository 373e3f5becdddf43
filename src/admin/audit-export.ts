/**
 * @module
 * Streaming audit exports: NDJSON and CSV, produced as the events arrive from both tiers
 * (src/audit/query.ts), so an export of any size never sits in memory whole.
 */
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from "../schemas/audit-event";

export type ExportFormat = "ndjson" | "csv";

/** Events encoded per chunk of the response body. */
const EVENTS_PER_CHUNK = 500;

/** A byte stream of every event `events` yields (newest first), in `format`. */
export function exportStream(format: ExportFormat, events: AsyncIterable<AuditEvent>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      const lines: string[] = [];
      if (!started && format === "csv") lines.push(csvRow(AUDIT_EVENT_COLUMNS));
      started = true;
      try {
        while (lines.length < EVENTS_PER_CHUNK) {
          const next = await iterator.next();
          if (next.done) {
            if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("")));
            controller.close();
            return;
          }
          lines.push(format === "csv" ? csvLine(next.value) : `${JSON.stringify(next.value)}\n`);
        }
      } catch (error) {
        // Abort the body rather than end it: a cut-off export must not look complete.
        console.error(JSON.stringify({ level: "error", msg: "audit export aborted", error: String(error) }));
        controller.error(error);
        return;
      }
      controller.enqueue(encoder.encode(lines.join("")));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

function csvLine(event: AuditEvent): string {
  return csvRow(AUDIT_EVENT_COLUMNS.map((column) => event[column]));
}

function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}

/**
 * One CSV cell, always quoted (RFC 4180). Text a spreadsheet would run as a formula gets a `'`
 * before the formula character: at the start of the cell, and after `;`, tab or carriage return,
 * which spreadsheets may also read as the start of a cell.
 */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value);
  const neutralised = text.replace(/(^|[;\t\r])(?=[=+\-@\t\r])/g, "$1'");
  return `"${neutralised.replaceAll('"', '""')}"`;
}
