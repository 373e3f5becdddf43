/**
 * @module
 * The field names of a form body as origin frameworks parse them, found while the body streams
 * through in chunks of any size: `application/x-www-form-urlencoded` (and a body without a
 * `Content-Type`, which Rack reads as one), `multipart/*` (Rack parses `multipart/mixed` and
 * `multipart/related` as forms too) and JSON (the keys of its top-level object, which Laravel
 * reads as form fields). The scan over-approximates where parsers differ: `;` splits
 * urlencoded pairs as `&` does, every `--boundary` in a multipart body starts a part whatever
 * precedes it, and every `name` parameter in a part's headers counts, whichever header holds it.
 * Memory per body is bounded by {@link MAX_FIELD_NAME_BYTES} and {@link MAX_PART_HEADER_BYTES}.
 */

/** A field name the caller refused (as decoded), or a body the scan cannot bound. */
export type FormFinding = { field: string } | { unreadable: string };

/** Fed a body's bytes in order; returns the first finding once there is one. */
export interface FormFieldScanner {
  write(chunk: Uint8Array): FormFinding | undefined;
  end(): FormFinding | undefined;
}

/** A longer urlencoded name is no framework's field, and holding it would let a body grow our memory. */
export const MAX_FIELD_NAME_BYTES = 4096;
/** The headers of one multipart part; browsers send well under 1 KiB. */
export const MAX_PART_HEADER_BYTES = 16 * 1024;
// RFC 2046 §5.1.1 allows 70 characters.
const MAX_BOUNDARY_LENGTH = 70;

// Each byte as one UTF-16 unit, so that string offsets are byte offsets.
const BYTES = new TextDecoder("latin1");
const UTF8 = new TextDecoder();

/**
 * A scanner of a `contentType` body sent with `method` that reports the first field name for which
 * `refused` holds, or `undefined` when no form parser would read such a body (JSON, octet streams,
 * GET and HEAD), so those requests cost nothing.
 * @example formFieldScanner("multipart/form-data; boundary=x", "POST", (name) => name === "_method")
 */
export function formFieldScanner(contentType: string | null, method: string, refused: (name: string) => boolean): FormFieldScanner | undefined {
  if (method === "GET" || method === "HEAD") return undefined;
  // Rack's media type: up to the first `;` or `,`, lowercased.
  const mediaType = (contentType ?? "").split(/[;,]/, 1)[0]!.trim().toLowerCase();
  if (mediaType === "" || mediaType === "application/x-www-form-urlencoded") return urlencodedScanner(refused);
  if (mediaType.startsWith("multipart/")) return multipartScanner(contentType!, refused);
  // Laravel's `isJson()`: any type containing `/json` or `+json`.
  if (mediaType.includes("/json") || mediaType.includes("+json")) return jsonScanner(refused);
  return undefined;
}

/**
 * The keys of a JSON body's top-level object (Laravel's request bag is that object), decoded
 * from their escapes. A key longer than {@link MAX_FIELD_NAME_BYTES} is no refused name, so only
 * shorter strings are held; values are skipped as they stream.
 */
function jsonScanner(refused: (name: string) => boolean): FormFieldScanner {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let text = "";
  let held = true;
  let pendingKey: string | undefined;
  let finding: FormFinding | undefined;
  return {
    write(chunk) {
      const chars = BYTES.decode(chunk);
      for (let i = 0; i < chars.length && !finding; i++) {
        const ch = chars[i]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === "\\") escaped = true;
          else if (ch === '"') {
            inString = false;
            pendingKey = depth === 1 && held ? text : undefined;
            continue;
          }
          if (held && text.length >= MAX_FIELD_NAME_BYTES) held = false;
          else if (held) text += ch;
          continue;
        }
        if (ch === '"') {
          inString = true;
          text = "";
          held = true;
        } else if (ch === ":" && pendingKey !== undefined) {
          const name = decodeJsonString(pendingKey);
          if (name !== undefined && refused(name)) finding = { field: name };
        } else if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") depth--;
        if (ch !== " " && ch !== "\t" && ch !== "\n" && ch !== "\r" && ch !== '"') pendingKey = undefined;
      }
      return finding;
    },
    end: () => finding,
  };
}

/** A JSON string's contents (latin1-read bytes) decoded; `undefined` when it is not valid JSON. */
function decodeJsonString(bytes: string): string | undefined {
  try {
    return JSON.parse(`"${utf8Of(bytes)}"`) as string;
  } catch {
    return undefined;
  }
}

function urlencodedScanner(refused: (name: string) => boolean): FormFieldScanner {
  let name = "";
  let inValue = false;
  let finding: FormFinding | undefined;
  const checkName = () => {
    const decoded = decodeUrlencodedName(name);
    if (refused(decoded)) finding = { field: decoded };
  };
  return {
    write(chunk) {
      const text = BYTES.decode(chunk);
      for (let i = 0; i < text.length && !finding; i++) {
        const ch = text[i]!;
        if (ch === "&" || ch === ";") {
          if (!inValue) checkName();
          name = "";
          inValue = false;
        } else if (inValue) {
          continue;
        } else if (ch === "=") {
          checkName();
          inValue = true;
        } else if (name.length >= MAX_FIELD_NAME_BYTES) {
          finding = { unreadable: `a form field name is over ${MAX_FIELD_NAME_BYTES} bytes` };
        } else {
          name += ch;
        }
      }
      return finding;
    },
    end() {
      if (!finding && !inValue) checkName();
      return finding;
    },
  };
}

/** A urlencoded name (latin1-read bytes) decoded as URLSearchParams does: `+` is a space, `%xx` UTF-8. */
function decodeUrlencodedName(bytes: string): string {
  return [...new URLSearchParams(`${utf8Of(bytes)}=`).keys()][0] ?? "";
}

function multipartScanner(contentType: string, refused: (name: string) => boolean): FormFieldScanner {
  const boundaries = [...contentType.matchAll(/;\s*boundary\s*=\s*("[^"]*"|[^;,\s]*)/gi)].map(([, value]) => unquote(value!));
  const boundary = boundaries[0];
  if (boundary === undefined || boundary === "" || boundary.length > MAX_BOUNDARY_LENGTH || boundaries.some((other) => other !== boundary)) {
    const unreadable: FormFinding = { unreadable: "a multipart body needs exactly one boundary of 1 to 70 characters" };
    return { write: () => unreadable, end: () => unreadable };
  }
  const delimiter = `--${boundary}`;
  let buffer = "";
  let inHeaders = false;
  let finding: FormFinding | undefined;

  const scan = (final: boolean) => {
    for (;;) {
      if (!inHeaders) {
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          // Keep what could be the start of a delimiter cut by the chunk's end.
          buffer = buffer.slice(Math.max(0, buffer.length - delimiter.length + 1));
          return;
        }
        buffer = buffer.slice(at + delimiter.length);
        inHeaders = true;
      }
      if (buffer.length < 2 && !final) return;
      // After the close delimiter (`--boundary--`) comes the epilogue, of any length.
      const closing = buffer.startsWith("--");
      // A part's headers end at the first empty line (CRLF or a bare LF, as lenient parsers read it).
      const end = firstIndex(buffer, "\n\r\n", "\n\n");
      const tooLong = (end < 0 ? buffer.length : end) > MAX_PART_HEADER_BYTES;
      if (tooLong && closing) {
        inHeaders = false;
        continue;
      }
      if (tooLong) {
        finding = { unreadable: `a multipart part's headers are over ${MAX_PART_HEADER_BYTES} bytes` };
        return;
      }
      if (end < 0 && !final) return;
      const headers = end < 0 ? buffer : buffer.slice(0, end);
      const field = partFieldNames(headers).find(refused);
      if (field !== undefined) {
        finding = { field };
        return;
      }
      if (end < 0) return;
      buffer = buffer.slice(end);
      inHeaders = false;
    }
  };
  return {
    write(chunk) {
      if (!finding) {
        buffer += BYTES.decode(chunk);
        scan(false);
      }
      return finding;
    },
    end() {
      if (!finding) scan(true);
      return finding;
    },
  };
}

/**
 * Every `name` parameter in a part's header block (folded lines joined), in each form a parser
 * may read it: as sent, RFC 5987-decoded (`name*=utf-8''%5Fmethod`) and percent-decoded; as
 * UTF-8 and as single bytes.
 */
function partFieldNames(headers: string): string[] {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, " ");
  const names: string[] = [];
  // `(?<![\w-])` keeps `filename=` and `x-name=` out.
  for (const [, star, raw] of unfolded.matchAll(/(?<![\w-])name(\*?)\s*=\s*("(?:[^"\\\r\n]|\\.)*"?|[^;\r\n]*)/gi)) {
    let value = unquote(raw!.trim());
    if (star) value = value.replace(/^[^']*'[^']*'/, "");
    for (const form of [value, percentDecoded(value)]) names.push(form, utf8Of(form));
  }
  return names;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  return value.slice(1, value.endsWith('"') && value.length > 1 ? -1 : undefined).replace(/\\(.)/g, "$1");
}

function percentDecoded(value: string): string {
  return value.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** A latin1-read byte string decoded as UTF-8 (invalid bytes become U+FFFD). */
function utf8Of(bytes: string): string {
  // Only a string with non-ASCII bytes differs.
  if (!/[^\x00-\x7f]/.test(bytes)) return bytes;
  return UTF8.decode(Uint8Array.from(bytes, (ch) => ch.charCodeAt(0)));
}

function firstIndex(text: string, ...needles: string[]): number {
  const found = needles.map((needle) => text.indexOf(needle)).filter((at) => at >= 0);
  return found.length === 0 ? -1 : Math.min(...found);
}
