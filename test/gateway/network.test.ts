import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compileIpAllowlist,
  compileOriginAllowlist,
  ipRuleIssue,
  isIpAllowed,
  isOriginAllowed,
  normalizeIpRule,
  normalizeOriginRule,
  originRuleIssue,
} from "../../src/gateway/network";

const allowsIp = (rules: string[], ip: string | null | undefined) => isIpAllowed(compileIpAllowlist(rules), ip);
const allowsOrigin = (rules: string[], origin: string | null | undefined) =>
  isOriginAllowed(compileOriginAllowlist(rules), origin);

const octet = fc.integer({ min: 0, max: 255 });
const ipv4Octets = fc.tuple(octet, octet, octet, octet);
const hextet = fc.integer({ min: 0, max: 0xffff });
const ipv6Hextets = fc.array(hextet, { minLength: 8, maxLength: 8 });

/** Reference: the address as a string of bits, compared by prefix. */
const bitsOf = (parts: number[], width: number) => parts.map((p) => p.toString(2).padStart(width, "0")).join("");
const isMappedIpv4 = (hextets: number[]) => hextets.slice(0, 6).join() === "0,0,0,0,0,65535";

/** An address near `base`: its first `keep` bits, then random bits. */
const nearby = (base: number[], width: number, randomParts: number[], keep: number) => {
  const bits = bitsOf(base, width).slice(0, keep) + bitsOf(randomParts, width).slice(keep);
  return base.map((_, i) => parseInt(bits.slice(i * width, (i + 1) * width), 2));
};

describe("IPv4 rules", () => {
  it("matches a bare address exactly", () => {
    expect(allowsIp(["203.0.113.7"], "203.0.113.7")).toBe(true);
    expect(allowsIp(["203.0.113.7"], "203.0.113.8")).toBe(false);
  });

  it("treats /32 as one address", () => {
    expect(allowsIp(["10.1.2.3/32"], "10.1.2.3")).toBe(true);
    expect(allowsIp(["10.1.2.3/32"], "10.1.2.4")).toBe(false);
  });

  it("matches /8 from its first to its last address", () => {
    expect(allowsIp(["10.0.0.0/8"], "10.0.0.0")).toBe(true);
    expect(allowsIp(["10.0.0.0/8"], "10.255.255.255")).toBe(true);
    expect(allowsIp(["10.0.0.0/8"], "9.255.255.255")).toBe(false);
    expect(allowsIp(["10.0.0.0/8"], "11.0.0.0")).toBe(false);
  });

  it("ignores host bits written in a CIDR rule", () => {
    expect(allowsIp(["10.9.9.9/8"], "10.0.0.1")).toBe(true);
  });

  it("matches every IPv4 address with 0.0.0.0/0", () => {
    expect(allowsIp(["0.0.0.0/0"], "0.0.0.0")).toBe(true);
    expect(allowsIp(["0.0.0.0/0"], "255.255.255.255")).toBe(true);
  });

  it("does not let 0.0.0.0/0 match a native IPv6 client", () => {
    expect(allowsIp(["0.0.0.0/0"], "2001:db8::1")).toBe(false);
  });

  it("puts any IPv4 address inside its own /32 and inside 0.0.0.0/0", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(allowsIp([`${ip}/32`], ip)).toBe(true);
        expect(allowsIp([ip], ip)).toBe(true);
        expect(allowsIp(["0.0.0.0/0"], ip)).toBe(true);
      }),
    );
  });

  it("puts an address in a /n CIDR iff its first n bits equal the network's", () => {
    const bit = fc.integer({ min: 0, max: 32 });
    fc.assert(
      fc.property(ipv4Octets, ipv4Octets, bit, bit, (network, random, prefix, keep) => {
        const client = nearby(network, 8, random, keep);
        const expected = bitsOf(client, 8).slice(0, prefix) === bitsOf(network, 8).slice(0, prefix);
        expect(allowsIp([`${network.join(".")}/${prefix}`], client.join("."))).toBe(expected);
      }),
    );
  });
});

describe("IPv6 rules", () => {
  it("matches 2001:db8::/32 and nothing outside it", () => {
    expect(allowsIp(["2001:db8::/32"], "2001:db8::1")).toBe(true);
    expect(allowsIp(["2001:db8::/32"], "2001:0DB8:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(true);
    expect(allowsIp(["2001:db8::/32"], "2001:db9::")).toBe(false);
    expect(allowsIp(["2001:db8::/32"], "2001:db7:ffff::")).toBe(false);
  });

  it("matches ::1/128 as the loopback address only", () => {
    expect(allowsIp(["::1/128"], "::1")).toBe(true);
    expect(allowsIp(["::1/128"], "0:0:0:0:0:0:0:1")).toBe(true);
    expect(allowsIp(["::1/128"], "::2")).toBe(false);
  });

  it("matches every IPv6 client with ::/0 but no IPv4 client", () => {
    expect(allowsIp(["::/0"], "::")).toBe(true);
    expect(allowsIp(["::/0"], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(true);
    expect(allowsIp(["::/0"], "10.0.0.1")).toBe(false);
  });

  it("puts an address in a /n CIDR iff its first n bits equal the network's", () => {
    const bit = fc.integer({ min: 0, max: 128 });
    fc.assert(
      fc.property(ipv6Hextets, ipv6Hextets, bit, bit, (network, random, prefix, keep) => {
        const client = nearby(network, 16, random, keep);
        // The mapped block is IPv4 by design; the reference covers native IPv6 only.
        fc.pre(!isMappedIpv4(network) && !isMappedIpv4(client));
        const expected = bitsOf(client, 16).slice(0, prefix) === bitsOf(network, 16).slice(0, prefix);
        const text = (hextets: number[]) => hextets.map((h) => h.toString(16)).join(":");
        expect(allowsIp([`${text(network)}/${prefix}`], text(client))).toBe(expected);
      }),
    );
  });

  it("accepts every IPv6 text form as a rule that matches itself", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        expect(ipRuleIssue(ip)).toBeUndefined();
        expect(allowsIp([ip], ip)).toBe(true);
        expect(allowsIp([normalizeIpRule(ip)], ip)).toBe(true);
      }),
    );
  });
});

describe("IPv4-mapped IPv6", () => {
  it("matches a mapped client against an IPv4 rule", () => {
    expect(allowsIp(["10.0.0.0/8"], "::ffff:10.1.2.3")).toBe(true);
    expect(allowsIp(["10.1.2.3"], "::ffff:a01:203")).toBe(true);
    expect(allowsIp(["10.0.0.0/8"], "::ffff:11.1.2.3")).toBe(false);
  });

  it("matches an IPv4 client against a mapped rule", () => {
    expect(allowsIp(["::ffff:0:0/96"], "198.51.100.4")).toBe(true);
    expect(allowsIp(["::ffff:10.0.0.0/104"], "10.200.0.1")).toBe(true);
    expect(allowsIp(["::ffff:10.0.0.0/104"], "11.0.0.1")).toBe(false);
  });

  it("checks a mapped client exactly like its IPv4 address", () => {
    fc.assert(
      fc.property(ipv4Octets, fc.integer({ min: 0, max: 32 }), fc.ipV4(), (network, prefix, client) => {
        const rules = [`${network.join(".")}/${prefix}`];
        expect(allowsIp(rules, `::ffff:${client}`)).toBe(allowsIp(rules, client));
      }),
    );
  });
});

describe("mixed lists", () => {
  const rules = ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::1"];

  it("allows a client matching any rule of its family", () => {
    expect(allowsIp(rules, "203.0.113.200")).toBe(true);
    expect(allowsIp(rules, "198.51.100.7")).toBe(true);
    expect(allowsIp(rules, "2001:db8:1::5")).toBe(true);
    expect(allowsIp(rules, "::1")).toBe(true);
  });

  it("denies a client matching no rule", () => {
    expect(allowsIp(rules, "198.51.100.8")).toBe(false);
    expect(allowsIp(rules, "2001:db9::1")).toBe(false);
  });
});

describe("client IP", () => {
  it("allows any client, even a missing one, with an empty list", () => {
    expect(allowsIp([], "203.0.113.7")).toBe(true);
    expect(allowsIp([], undefined)).toBe(true);
  });

  it("denies a missing client IP with a non-empty list", () => {
    expect(allowsIp(["0.0.0.0/0", "::/0"], undefined)).toBe(false);
    expect(allowsIp(["0.0.0.0/0", "::/0"], null)).toBe(false);
    expect(allowsIp(["0.0.0.0/0", "::/0"], "")).toBe(false);
  });

  it("denies an unparseable client IP with a non-empty list", () => {
    for (const ip of ["unknown", "10.0.0.1, 10.0.0.2", "010.0.0.1", "10.0.0.0/8", "fe80::1%eth0", " 10.0.0.1"]) {
      expect(allowsIp(["0.0.0.0/0", "::/0"], ip), ip).toBe(false);
    }
  });
});

describe("IP rule validation", () => {
  it.each([
    "1.2.3",
    "01.2.3.4",
    "256.1.1.1",
    "10.0.0.0/33",
    "::1/129",
    "1.2.3.4/",
    "/8",
    "10.0.0.0/08",
    "10.0.0.0/+8",
    "10.0.0.0/-1",
    "10.0.0.0/8/8",
    "10.0.0.0/ 8",
    "1.2.3.4.5",
    "0x7f.0.0.1",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "::ffff:1.2.3",
    "fe80::1%eth0",
    "*",
    "",
    " 10.0.0.1",
    "localhost",
  ])("denies %j as a rule", (rule) => {
    expect(ipRuleIssue(rule)).toEqual(expect.any(String));
    expect(() => compileIpAllowlist([rule])).toThrow(TypeError);
    expect(() => normalizeIpRule(rule)).toThrow(TypeError);
  });

  it("names the prefix range in the message", () => {
    expect(ipRuleIssue("10.0.0.0/33")).toBe("CIDR prefix must be an integer from 0 to 32 for IPv4");
    expect(ipRuleIssue("::1/129")).toBe("CIDR prefix must be an integer from 0 to 128 for IPv6");
    expect(ipRuleIssue("1.2.3")).toBe("not an IP address or CIDR");
  });

  it.each(["0.0.0.0/0", "10.0.0.0/8", "10.0.0.1/32", "::/0", "::1/128", "2001:db8::/32", "::ffff:10.0.0.0/104"])(
    "accepts %j",
    (rule) => expect(ipRuleIssue(rule)).toBeUndefined(),
  );
});

describe("normalizeIpRule", () => {
  it.each([
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["10.0.0.1/32", "10.0.0.1"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:1:2::/32", "2001:db8::/32"],
    ["::1/128", "::1"],
    ["::FFFF:0A01:0203", "::ffff:10.1.2.3"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ])("writes %j as %j", (rule, normalized) => {
    expect(normalizeIpRule(rule)).toBe(normalized);
  });

  it("is idempotent and keeps what a rule matches", () => {
    const rule = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, n]) => `${ip}/${n}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, n]) => `${ip}/${n}`),
    );
    fc.assert(
      fc.property(rule, fc.oneof(fc.ipV4(), fc.ipV6()), (r, client) => {
        const normalized = normalizeIpRule(r);
        expect(normalizeIpRule(normalized)).toBe(normalized);
        expect(allowsIp([normalized], client)).toBe(allowsIp([r], client));
      }),
    );
  });
});

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
