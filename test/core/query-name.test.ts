/**
 * The `{query}` project locator's name normal form (SPEC §5): the spellings origin frameworks
 * read as the same parameter all count as values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { locateProject } from "../../src/policy/match";
import { normalizeQueryName, queryValues } from "../../src/core/query-name";

const LOCATOR = { query: "productId" };
const request = new Request("https://gw.test/a");

/** A name made of the characters that query names are usually made of. */
const plainName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,12}$/);
const randomCase = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) =>
    [...name].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch.toLowerCase())).join(""),
  );
const spaces = fc.stringMatching(/^[ \t]{0,3}$/);
const brackets = fc.array(fc.oneof(fc.constant("[]"), fc.nat({ max: 99 }).map((n) => `[${n}]`)), { maxLength: 3 }).map((parts) => parts.join(""));

/** `name` as a client might spell it so that an origin still reads it as `name`. */
const variantOf = (name: string) =>
  fc
    .tuple(randomCase(name), spaces, brackets, spaces)
    .map(([cased, before, suffix, after]) => `${before}${cased}${suffix}${after}`);

/** Percent-encodes a random subset of the characters of `text`. */
const percentEncoded = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((encode) =>
    [...text]
      .map((ch, i) => (encode[i] || !/[A-Za-z0-9_]/.test(ch) ? `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}` : ch))
      .join(""),
  );

describe("normalizeQueryName", () => {
  it.each([
    ["productId", "productid"],
    ["ProductId", "productid"],
    ["PRODUCTID", "productid"],
    ["productId[]", "productid"],
    ["productId[0]", "productid"],
    ["productId[12][]", "productid"],
    [" productId ", "productid"],
    ["\tproductId[] ", "productid"],
    ["productId_x", "productid_x"],
    ["product[]Id", "product[]id"],
    ["product.Id", "product_id"],
    ["product Id[]", "product_id"],
    ["product[Id", "product_id"],
  ])("reads %j as %j", (name, normal) => {
    expect(normalizeQueryName(name)).toBe(normal);
  });

  it("is idempotent", () => {
    fc.assert(fc.property(fc.string(), (name) => normalizeQueryName(normalizeQueryName(name)) === normalizeQueryName(name)));
  });

  it("maps every case, bracket and space variant of a name to the name's own normal form", () => {
    fc.assert(
      fc.property(
        plainName.chain((name) => fc.tuple(fc.constant(name), variantOf(name))),
        ([name, variant]) => normalizeQueryName(variant) === normalizeQueryName(name),
      ),
    );
  });

  it("keeps names apart that differ in more than case, brackets and surrounding spaces", () => {
    fc.assert(
      fc.property(plainName, plainName, (a, b) => {
        fc.pre(a.toLowerCase() !== b.toLowerCase());
        return normalizeQueryName(a) !== normalizeQueryName(b);
      }),
    );
  });
});

describe("queryValues", () => {
  it("collects the values of every spelling of the name, in order", () => {
    expect(queryValues("?productId=a&x=1&ProductId[]=b&%20productid%5B0%5D=c&productIds=d;productid=e", "productId")).toEqual(["a", "b", "c", "e"]);
  });
});

describe("locateProject with a {query} locator", () => {
  it("reads the project from any spelling of the name, percent-encoded or not", () => {
    fc.assert(
      fc.property(variantOf("productId").chain(percentEncoded), (name) => {
        const url = new URL(`https://gw.test/a?x=1&${name}=prj_1`);
        expect(locateProject(LOCATOR, request, {}, url)).toEqual({ ok: true, projectId: "prj_1" });
      }),
    );
  });

  it("finds two spellings of the name ambiguous (400), whatever their values", () => {
    fc.assert(
      fc.property(variantOf("productId"), variantOf("productId"), fc.constantFrom("prj_1", "prj_2"), (a, b, second) => {
        const url = new URL(`https://gw.test/a?${encodeURIComponent(a)}=prj_1&${encodeURIComponent(b)}=${second}`);
        expect(locateProject(LOCATOR, request, {}, url)).toEqual({ ok: false, issue: { path: "query.productId", message: "two project values" } });
      }),
    );
  });

  it.each(["productId[]=prj_victim", "productId[0]=prj_victim", "%20productId=prj_victim", "ProductId=prj_victim", "productId%5B%5D=prj_victim"])(
    "reads %s as naming prj_victim",
    (query) => {
      expect(locateProject(LOCATOR, request, {}, new URL(`https://gw.test/a?${query}`))).toEqual({ ok: true, projectId: "prj_victim" });
    },
  );
});
