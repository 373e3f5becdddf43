/**
 * @module
 * Duplicate object keys in JSON text. `JSON.parse` keeps the last duplicate, other parsers the
 * first or either; a body such as `{"params":{"name":"allowed","name":"denied"}}` could then be
 * checked as one tool and run as another. I-JSON (RFC 7493) forbids duplicates, so Keygate
 * refuses them rather than guess which one its origin reads.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The first key repeated within one object of `text`, `undefined` when there is none.
 * @param text - JSON that `JSON.parse` accepted (the scan relies on it being well-formed)
 * @example duplicateKey('{"a":1,"b":{"c":1,"c":2}}'); // "c"
 */
export function duplicateKey(text: string): string | undefined {
  // One entry per open object (its keys so far) or array (null), innermost last.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keys && nextToken(text, end + 1) === ":") {
        const raw = text.slice(i, end + 1);
        // Escapes decoded, so "na\u006de" and "name" are the same key.
        const key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    } else if (char === 0x7b) open.push(new Set());
    else if (char === 0x5b) open.push(null);
    else if (char === 0x7d || char === 0x5d) open.pop();
  }
  return undefined;
}

/** The index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

function nextToken(text: string, from: number): string | undefined {
  for (let i = from; i < text.length; i++) {
    const char = text[i]!;
    if (char !== " " && char !== "\t" && char !== "\n" && char !== "\r") return char;
  }
  return undefined;
}
