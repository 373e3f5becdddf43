/**
 * @module
 * The fields of draft-ietf-httpapi-ratelimit-headers, List syntax (RFC 8941): one item per policy,
 * comma-separated. Names are sf-strings; the schemas allow only characters that need no escaping.
 */

/** One policy as a caller sees it. */
export interface PolicyReport {
  name: string;
  /** Units per window (`q`). */
  quota: number;
  windowS: number;
  /** Units left after this request (`r`). */
  remaining: number;
  /** Seconds until capacity frees (`t`), rounded up. */
  resetS: number;
}

/**
 * `RateLimit-Policy` and `RateLimit` for `policies`.
 * @example
 * rateLimitHeaders([{ name: "burst", quota: 100, windowS: 60, remaining: 42, resetS: 18 }]);
 * // { "RateLimit-Policy": '"burst";q=100;w=60', RateLimit: '"burst";r=42;t=18' }
 */
export function rateLimitHeaders(policies: readonly PolicyReport[]): Record<string, string> {
  return {
    "RateLimit-Policy": policies.map((p) => `"${p.name}";q=${p.quota};w=${p.windowS}`).join(", "),
    RateLimit: policies.map((p) => `"${p.name}";r=${p.remaining};t=${p.resetS}`).join(", "),
  };
}
