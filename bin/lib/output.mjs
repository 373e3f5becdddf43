// Plain-text tables and small formatting helpers. Everything printed from the API passes through
// escapeControls: stored fields (paths, user agents, key names) are caller-controlled, and a raw
// ESC or CSI would let a caller repaint the operator's terminal or forge log lines.

// C0 controls (newlines and tabs included), DEL, C1 controls, and the backslash that starts an escape.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\\]/g;

/** `text` with every C0/C1 control (and the backslash) written as a visible escape: ESC becomes `\x1b`. */
export function escapeControls(text) {
  return String(text).replace(CONTROLS, (char) => (char === "\\" ? "\\\\" : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** JSON text whose DEL and C1 characters (which JSON.stringify leaves raw) are `\u` escapes: the same JSON value. */
export function terminalSafeJson(json) {
  return json.replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A left-aligned table with a header row; cells are strings (null → "-"). */
export function table(headers, rows) {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === "" ? "-" : escapeControls(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ");
  return [line(headers), ...cells.map(line)].join("\n");
}

/** One audit event as a line: ts outcome status method path key_prefix reason. */
export function auditLine(event) {
  return [event.ts, event.outcome, event.status, event.method, event.path, event.key_prefix ?? "-", event.reason ?? ""]
    .map((v) => (v === null || v === undefined ? "-" : escapeControls(v)))
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
