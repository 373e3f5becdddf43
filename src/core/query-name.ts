/**
 * @module
 * Query parameter names as origin frameworks read them (SPEC §5 `{query}`): Express's `qs` reads
 * `productId[]=a` and `productId[0]=a` as `productId`, ASP.NET and others compare names without
 * case, some trim surrounding spaces, and PHP reads `product.id` as `product_id`. A project check
 * that read only the exact name could be skipped by any of those spellings, so every name is
 * compared in one normal form.
 */

// `[]`, `[0]` (and, to stay on the safe side, any `[…]` chain such as `[a][1]`, which `qs` reads as
// a nested value of the same parameter).
const BRACKET_SUFFIX = /(?:\[[^[\]]*\])+$/;

// PHP turns `.`, spaces and a `[` that no `]` closes into `_` (`?.method=x` is `$_GET['_method']`).
const PHP_MANGLED = /[. ]|\[(?![^[]*\])/g;

/**
 * The form in which two query names count as the same parameter: surrounding whitespace and
 * bracket suffixes removed, PHP's `_` for `.`, inner spaces and an unclosed `[`, lowercased.
 * `URLSearchParams` has already percent-decoded the name.
 * @example normalizeQueryName(" ProductId[0] "); // "productid"
 * @example normalizeQueryName("product.id"); // "product_id"
 */
export function normalizeQueryName(name: string): string {
  return name.trim().replace(BRACKET_SUFFIX, "").trim().replace(PHP_MANGLED, "_").toLowerCase();
}

/**
 * Every value of the query parameters whose names normalize to `name`'s normal form, in order.
 * `;` separates parameters as `&` does: Rack 2 (Rails) and other form parsers split on both, so
 * `?x=1;productId=p` names a project there.
 * @param search - the URL's raw query (`url.search`)
 * @example queryValues("?productId=a&ProductId[]=b;productid=c", "productId"); // ["a", "b", "c"]
 */
export function queryValues(search: string, name: string): string[] {
  const wanted = normalizeQueryName(name);
  const values: string[] = [];
  for (const [key, value] of new URLSearchParams(search.replaceAll(";", "&"))) {
    if (normalizeQueryName(key) === wanted) values.push(value);
  }
  return values;
}
