import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileOriginAllowlist, isOriginAllowed, normalizeOriginRule, originRuleIssue } from "../../src/core/origin";

const allowsOrigin = (rules: string[], origin: string | null | undefined) =>
  isOriginAllowed(compileOriginAllowlist(rules), origin);

describe("origin rules", () => {
  it("matches an exact origin", () => {
    expect(allowsOrigin(["https://app.example.com"], "https://app.example.com")).toBe(true);
    expect(allowsOrigin(["https://app.example.com"], "https://other.example.com")).toBe(false);
  });

  it("normalizes default ports and case on both sides", () => {
    expect(allowsOrigin(["https://app.example.com:443"], "https://app.example.com")).toBe(true);
    expect(allowsOrigin(["HTTPS://App.Example.com"], "https://app.example.com:443")).toBe(true);
    expect(allowsOrigin(["http://localhost:80"], "http://localhost")).toBe(true);
  });

  it("requires the same scheme and port", () => {
    expect(allowsOrigin(["https://app.example.com"], "http://app.example.com")).toBe(false);
    expect(allowsOrigin(["https://app.example.com"], "https://app.example.com:8443")).toBe(false);
    expect(allowsOrigin(["http://localhost:3000"], "http://localhost:3000")).toBe(true);
    expect(allowsOrigin(["http://localhost:3000"], "http://localhost:3001")).toBe(false);
  });

  it("matches IP literal hosts", () => {
    expect(allowsOrigin(["http://127.0.0.1:8080"], "http://127.0.0.1:8080")).toBe(true);
    expect(allowsOrigin(["http://[0:0::1]:8080"], "http://[::1]:8080")).toBe(true);
  });
});

describe("origin wildcards", () => {
  const rules = ["https://*.example.com"];

  it("matches https://*.example.com for https://a.example.com", () => {
    expect(allowsOrigin(rules, "https://a.example.com")).toBe(true);
    expect(allowsOrigin(rules, "https://a.example.com:443")).toBe(true);
  });

  it.each([
    "https://example.com",
    "https://a.b.example.com",
    "https://evil-example.com",
    "https://a.evil-example.com",
    "https://example.com.evil.com",
    "http://a.example.com",
    "https://a.example.com:8443",
    "https://*.example.com",
    "https://.example.com",
  ])("does not match %j with https://*.example.com", (origin) => {
    expect(allowsOrigin(rules, origin)).toBe(false);
  });

  it("keeps the port of a wildcard rule", () => {
    expect(allowsOrigin(["https://*.example.com:8443"], "https://a.example.com:8443")).toBe(true);
    expect(allowsOrigin(["https://*.example.com:8443"], "https://a.example.com")).toBe(false);
  });

  it("matches exactly one extra DNS label", () => {
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(allowsOrigin(rules, `https://${a}.example.com`)).toBe(true);
        expect(allowsOrigin(rules, `https://${a}.${b}.example.com`)).toBe(false);
        expect(allowsOrigin(rules, `https://${a}example.com`)).toBe(false);
      }),
    );
  });
});

describe("request Origin", () => {
  const rules = ["https://app.example.com"];

  it("allows any origin with an empty list", () => {
    expect(allowsOrigin([], "https://anything.test")).toBe(true);
    expect(allowsOrigin([], "null")).toBe(true);
  });

  it("allows a request without Origin (server to server)", () => {
    expect(allowsOrigin(rules, undefined)).toBe(true);
    expect(allowsOrigin(rules, null)).toBe(true);
    expect(allowsOrigin(rules, "")).toBe(true);
  });

  it("denies Origin: null with a non-empty list", () => {
    expect(allowsOrigin(rules, "null")).toBe(false);
  });

  it("denies an unparseable Origin", () => {
    for (const origin of ["https://app.example.com/", "app.example.com", "https://app.example.com, https://x.test"]) {
      expect(allowsOrigin(rules, origin), origin).toBe(false);
    }
  });
});

describe("origin rule validation", () => {
  it.each([
    ["https://app.example.com/", "must not have a path, query or fragment"],
    ["https://app.example.com/path", "must not have a path, query or fragment"],
    ["https://app.example.com?q=1", "must not have a path, query or fragment"],
    ["https://app.example.com#f", "must not have a path, query or fragment"],
    ["app.example.com", "not an origin (scheme://host[:port])"],
    ["null", "not an origin (scheme://host[:port])"],
    ["ftp://x.com", "scheme must be http or https"],
    ["https://user@app.example.com", "must not have userinfo"],
    ["https://*.com", "a wildcard needs at least two DNS labels after '*.'"],
    ["https://a.*.com", "'*' must be the whole leftmost label ('https://*.example.com')"],
    ["https://*foo.example.com", "'*' must be the whole leftmost label ('https://*.example.com')"],
    ["https://*", "'*' must be the whole leftmost label ('https://*.example.com')"],
    ["https://*.1.2.3.4", "a wildcard needs at least two DNS labels after '*.'"],
    ["https://app.example.com:0", "port must be an integer from 1 to 65535"],
    ["https://app.example.com:65536", "port must be an integer from 1 to 65535"],
    ["https://app.example.com:0443", "port must be an integer from 1 to 65535"],
    ["https://app.example.com:", "port must be an integer from 1 to 65535"],
    ["https://", "missing or invalid host"],
    ["https://bücher.example", "invalid host (ASCII/punycode DNS name or IP address)"],
    ["https://app.example.com.", "invalid host (ASCII/punycode DNS name or IP address)"],
    ["https://-app.example.com", "invalid host (ASCII/punycode DNS name or IP address)"],
    ["http://01.2.3.4", "invalid host (ASCII/punycode DNS name or IP address)"],
    ["http://[::1%eth0]", "invalid IPv6 host"],
  ])("denies %j as a rule", (rule, issue) => {
    expect(originRuleIssue(rule)).toBe(issue);
    expect(() => compileOriginAllowlist([rule])).toThrow(TypeError);
    expect(() => normalizeOriginRule(rule)).toThrow(TypeError);
  });

  it.each([
    ["https://app.example.com:443", "https://app.example.com"],
    ["http://app.example.com:80", "http://app.example.com"],
    ["HTTPS://APP.Example.COM:8443", "https://app.example.com:8443"],
    ["https://*.Example.com:443", "https://*.example.com"],
    ["https://xn--bcher-kva.example", "https://xn--bcher-kva.example"],
    ["http://[2001:DB8:0:0::1]:8080", "http://[2001:db8::1]:8080"],
  ])("normalizes %j to %j", (rule, normalized) => {
    expect(originRuleIssue(rule)).toBeUndefined();
    expect(normalizeOriginRule(rule)).toBe(normalized);
    expect(normalizeOriginRule(normalized)).toBe(normalized);
  });

  it("accepts every http(s) origin a browser could send", () => {
    const schemes = fc.constantFrom("http", "https");
    const ports = fc.option(fc.integer({ min: 1, max: 65535 }));
    fc.assert(
      fc.property(schemes, fc.domain(), ports, (scheme, host, port) => {
        const origin = `${scheme}://${host}${port === null ? "" : `:${port}`}`;
        expect(originRuleIssue(origin)).toBeUndefined();
        expect(allowsOrigin([origin], origin)).toBe(true);
      }),
    );
  });
});
