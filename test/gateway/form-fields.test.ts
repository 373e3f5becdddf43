/**
 * The form field scan behind the method-override check: it finds a field however the body is cut
 * into chunks, in the spellings origin parsers read, and bounds what it holds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formFieldScanner, MAX_FIELD_NAME_BYTES, MAX_PART_HEADER_BYTES } from "../../src/gateway/form-fields";
import { normalizeQueryName } from "../../src/core/query-name";

const URLENCODED = "application/x-www-form-urlencoded";
const MULTIPART = "multipart/form-data; boundary=XyZ";
const isOverride = (name: string) => normalizeQueryName(name) === "_method";
const bytes = (text: string) => new TextEncoder().encode(text);

/** Scans `body` cut at `cuts` (byte offsets) and returns the finding. */
function scan(contentType: string | null, body: string, cuts: number[] = []) {
  const scanner = formFieldScanner(contentType, "POST", isOverride)!;
  const data = bytes(body);
  const offsets = [0, ...[...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b), data.length];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const finding = scanner.write(data.subarray(offsets[i], offsets[i + 1]));
    if (finding) return finding;
  }
  return scanner.end();
}

const part = (headers: string, value = "v") => `--XyZ\r\n${headers}\r\n\r\n${value}\r\n`;

describe("formFieldScanner", () => {
  it("scans only form bodies of methods that carry one", () => {
    expect(formFieldScanner("text/plain", "POST", isOverride)).toBeUndefined();
    expect(formFieldScanner("application/octet-stream", "POST", isOverride)).toBeUndefined();
    expect(formFieldScanner("application/vnd.api+json", "POST", isOverride)).toBeDefined();
    expect(formFieldScanner(URLENCODED, "GET", isOverride)).toBeUndefined();
    expect(formFieldScanner(null, "POST", isOverride)).toBeDefined();
    expect(formFieldScanner("multipart/mixed; boundary=a", "PUT", isOverride)).toBeDefined();
  });

  it.each([
    ["_method=DELETE"],
    ["a=1&_method"],
    ["a=1&%5F%4Dethod=x"],
    ["a=1&_method%5B0%5D=x"],
    ["a=1&+_method+=x"],
  ])("finds the field in the urlencoded body %j", (body) => {
    expect(scan(URLENCODED, body)).toEqual({ field: expect.any(String) });
  });

  it.each([["method=DELETE"], ["_methods=x"], ["a=_method"], ["a=x%26_method%3Dy"]])("finds nothing in the urlencoded body %j", (body) => {
    expect(scan(URLENCODED, body)).toBeUndefined();
  });

  it.each([
    [part('Content-Disposition: form-data; name="_method"')],
    [part('content-disposition:form-data;name=_METHOD')],
    [part('Content-Disposition: form-data; name="_method[]"; filename="a.txt"')],
    [part("Content-Disposition: form-data; name*=UTF-8''%5Fmethod")],
    [part('Content-Disposition: form-data; name="\\_method"')],
    [part('Content-Disposition: form-data;\r\n\tname="_method"')],
    [`--XyZ\nContent-Disposition: form-data; name="_method"\n\nDELETE\n`],
  ])("finds the field in the multipart part %j", (body) => {
    expect(scan(MULTIPART, `${part('Content-Disposition: form-data; name="a"')}${body}--XyZ--`)).toEqual({ field: expect.any(String) });
  });

  it.each([
    [part('Content-Disposition: form-data; name="file"; filename="_method"')],
    [part('Content-Disposition: form-data; name="a"', 'name="_method"')],
    [`${part('Content-Disposition: form-data; name="a"')}--XyZ--\r\n${"epilogue ".repeat(4000)}`],
  ])("finds nothing in the multipart body %j", (body) => {
    expect(scan(MULTIPART, body)).toBeUndefined();
  });

  it.each([['{"_method":"DELETE"}'], ['{ "a": {"b": "}"}, "\\u005fmethod" : "PUT" }'], ['{"a":"x\\"","_method":1}']])("finds the top-level key in the JSON body %s", (body) => {
    expect(scan("application/json", body)).toEqual({ field: "_method" });
  });

  it.each([['{"a":"_method"}'], ['{"a":{"_method":"DELETE"}}'], ['[{"_method":"DELETE"}]'], ['["_method"]'], ['{"_method_x":1}']])("finds nothing in the JSON body %s", (body) => {
    expect(scan("application/json; charset=utf-8", body)).toBeUndefined();
  });

  it("finds the same field wherever the body is cut into chunks", () => {
    const bodies = [
      [URLENCODED, `title=${"x".repeat(300)}&%5Fmethod[]=DELETE&z=1`],
      ["application/json", `{"title":"${"x\\\"".repeat(100)}","n":[1,{"a":2}],"\\u005fmethod":"DELETE"}`],
      [MULTIPART, `preamble\r\n${part('Content-Disposition: form-data; name="t"', "y".repeat(300))}${part('Content-Disposition: form-data; name="_method"')}--XyZ--`],
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.array(fc.nat(), { maxLength: 40 }), ([type, body], cuts) => {
        expect(scan(type, body, cuts)).toEqual({ field: expect.any(String) });
      }),
    );
  });

  it("never reports a field in a body without one, however it is cut", () => {
    const body = `${part('Content-Disposition: form-data; name="title"', "_method=DELETE")}--XyZ--`;
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        expect(scan(MULTIPART, body, cuts)).toBeUndefined();
        expect(scan(URLENCODED, "a=_method&b=%5Fmethod", cuts)).toBeUndefined();
      }),
    );
  });

  it("gives up on a name or part headers too long to hold, instead of holding them", () => {
    expect(scan(URLENCODED, `${" ".repeat(MAX_FIELD_NAME_BYTES)}_method=x`)).toEqual({ unreadable: expect.any(String) });
    expect(scan(MULTIPART, `--XyZ\r\nX-Pad: ${"p".repeat(MAX_PART_HEADER_BYTES)}\r\nContent-Disposition: form-data; name="_method"\r\n\r\nx`)).toEqual({
      unreadable: expect.any(String),
    });
  });

  it.each([["multipart/form-data"], ["multipart/form-data; boundary="], ["multipart/form-data; boundary=a; boundary=b"], [`multipart/form-data; boundary=${"b".repeat(71)}`]])(
    "cannot scan a multipart body whose Content-Type is %j",
    (type) => {
      expect(scan(type, "anything")).toEqual({ unreadable: expect.any(String) });
    },
  );
});
