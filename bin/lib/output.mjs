// Plain-text tables and small formatting helpers.

/** A left-aligned table with a header row; cells are strings (null → "-"). */
export function table(headers, rows) {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === "" ? "-" : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ");
  return [line(headers), ...cells.map(line)].join("\n");
}

/** One audit event as a line: ts outcome status method path key_prefix reason. */
export function auditLine(event) {
  return [event.ts, event.outcome, event.status, event.method, event.path, event.key_prefix ?? "-", event.reason ?? ""]
    .map((v) => (v === null || v === undefined ? "-" : String(v)))
    .join(" ")
    .trimEnd();
}

/** A key's state for the table: revoked, expired, expires <ts>, or active. */
export function keyState(key, now = Date.now()) {
  if (key.revoked_at) return `revoked ${key.revoked_at}`;
  if (key.expires_at && Date.parse(key.expires_at) <= now) return `expired ${key.expires_at}`;
  if (key.expires_at) return `expires ${key.expires_at}`;
  return "active";
}
