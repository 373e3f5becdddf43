/**
 * @module
 * The per-key IP/CIDR allowlist of SPEC §7 (`allowed_ips`).
 *
 * Rules are validated by the admin API (`ipRuleIssue`), stored in canonical form (`normalizeIpRule`)
 * and compiled once when a key enters the in-memory cache (`compileIpAllowlist`); per request only
 * the client's own IP is parsed. Compiled lists hold bigints: keep them in memory, never in KV or
 * JSON.
 *
 * IPv4 and IPv6 are kept apart, with one bridge: the IPv4-mapped block `::ffff:0:0/96` is IPv4.
 * A mapped client address (`::ffff:10.1.2.3`) is checked as `10.1.2.3`, and a rule inside the
 * mapped block (`::ffff:10.0.0.0/104`) as the IPv4 rule `10.0.0.0/8`. Wider IPv6 rules such as
 * `::/0` therefore match IPv6 clients only; list `0.0.0.0/0` as well to allow every IPv4 client.
 */
import {
  convertIPv4BinaryToString,
  convertIPv4MappedIPv6ToIPv4,
  convertIPv4ToBinary,
  convertIPv6BinaryToString,
  convertIPv6ToBinary,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";

type Family = 4 | 6;

interface IpAddress {
  family: Family;
  value: bigint;
}

interface IpRule extends IpAddress {
  prefix: number;
}

/** Host bits of an address are masked off before comparing: `value & mask === network`. */
interface IpRange {
  network: bigint;
  mask: bigint;
}

/** A compiled `allowed_ips` list; build it with {@link compileIpAllowlist}. */
export interface IpAllowlist {
  readonly ipv4: readonly IpRange[];
  readonly ipv6: readonly IpRange[];
}

const ADDRESS_BITS: Record<Family, number> = { 4: 32, 6: 128 };
const MAPPED_PREFIX_BITS = 96;
/** A CIDR prefix in decimal without sign or leading zeros; the range is checked per family. */
const PREFIX_PATTERN = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses an IPv4 address in strict dotted-quad form (no leading zeros, no short forms) or an IPv6
 * address (RFC 4291 text, optionally with a trailing dotted quad). Zone ids (`fe80::1%eth0`) are
 * refused: they name an interface of one machine and never appear in `CF-Connecting-IP`.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  try {
    if (!text.includes(":")) return { family: 4, value: convertIPv4ToBinary(text) };
    if (!text.includes("%")) return { family: 6, value: convertIPv6ToBinary(text) };
  } catch {
    // Hono's parsers throw a TypeError for anything they do not accept.
  }
  return undefined;
}

function parseIpRule(rule: string): IpRule | string {
  const slash = rule.indexOf("/");
  const address = parseIpAddress(slash === -1 ? rule : rule.slice(0, slash));
  if (!address) return "not an IP address or CIDR";
  const bits = ADDRESS_BITS[address.family];
  if (slash === -1) return { ...address, prefix: bits };
  const prefixText = rule.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!PREFIX_PATTERN.test(prefixText) || prefix > bits) {
    return `CIDR prefix must be an integer from 0 to ${bits} for IPv${address.family}`;
  }
  return { ...address, prefix };
}

function requireIpRule(rule: string): IpRule {
  const parsed = parseIpRule(rule);
  if (typeof parsed === "string") throw new TypeError(`Invalid IP rule "${rule}": ${parsed}`);
  return parsed;
}

function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(ADDRESS_BITS[family]);
  return ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
}

/**
 * Moves a rule inside `::ffff:0:0/96` to IPv4 (a client address is a full-length rule here), so
 * that mapped and plain IPv4 compare alike.
 */
function unmapIpv4(rule: IpRule): IpRule {
  if (rule.family !== 6 || rule.prefix < MAPPED_PREFIX_BITS || !isIPv4MappedIPv6(rule.value)) return rule;
  return { family: 4, value: convertIPv4MappedIPv6ToIPv4(rule.value), prefix: rule.prefix - MAPPED_PREFIX_BITS };
}

/**
 * Why `rule` is not a valid `allowed_ips` entry, for zod refinements of admin input.
 *
 * @param rule - An IPv4/IPv6 address (`203.0.113.7`, `2001:db8::1`) or CIDR (`10.0.0.0/8`).
 * @returns `undefined` when valid, else a short message such as `"not an IP address or CIDR"`.
 * @example
 * ipRuleIssue("10.0.0.0/33"); // "CIDR prefix must be an integer from 0 to 32 for IPv4"
 */
export function ipRuleIssue(rule: string): string | undefined {
  const parsed = parseIpRule(rule);
  return typeof parsed === "string" ? parsed : undefined;
}

/**
 * The canonical text of an `allowed_ips` entry, for storage: host bits of a CIDR are masked off
 * (`10.1.2.3/8` → `10.0.0.0/8`), a full-length prefix is dropped (`10.0.0.1/32` → `10.0.0.1`),
 * and IPv6 is written per RFC 5952 (lowercase, longest zero run compressed, mapped addresses as
 * `::ffff:a.b.c.d`). Each address stays in the family it was written in.
 *
 * @param rule - A rule accepted by {@link ipRuleIssue}.
 * @returns The canonical rule; equal rules give equal text.
 * @throws {TypeError} When `rule` is invalid.
 */
export function normalizeIpRule(rule: string): string {
  const { family, value, prefix } = requireIpRule(rule);
  const network = value & prefixMask(family, prefix);
  const address = family === 4 ? convertIPv4BinaryToString(network) : convertIPv6BinaryToString(network);
  return prefix === ADDRESS_BITS[family] ? address : `${address}/${prefix}`;
}

/**
 * Compiles an `allowed_ips` list into precomputed masks.
 *
 * @param rules - IPv4/IPv6 addresses and CIDRs, mixed; an empty list allows any IP.
 * @returns The compiled list for {@link isIpAllowed}.
 * @throws {TypeError} When a rule is invalid (the admin API validates before storing).
 */
export function compileIpAllowlist(rules: readonly string[]): IpAllowlist {
  if (rules.length === 0) return NO_IP_RULES;
  const ranges: Record<Family, IpRange[]> = { 4: [], 6: [] };
  for (const rule of rules) {
    const { family, value, prefix } = unmapIpv4(requireIpRule(rule));
    const mask = prefixMask(family, prefix);
    ranges[family].push({ network: value & mask, mask });
  }
  return { ipv4: ranges[4], ipv6: ranges[6] };
}

/** Most keys have no IP rules; they all share this one (immutable) compiled list. */
const NO_IP_RULES: IpAllowlist = Object.freeze({ ipv4: Object.freeze([]), ipv6: Object.freeze([]) });

/**
 * Whether the client may use a key with this IP allowlist.
 *
 * @param list - The key's compiled allowlist.
 * @param clientIp - The `CF-Connecting-IP` value (never `X-Forwarded-For`).
 * @returns `true` for an empty list; otherwise `true` only when the client IP parses and falls in
 *   a rule. An IPv4-mapped IPv6 client is checked against the IPv4 rules.
 */
export function isIpAllowed(list: IpAllowlist, clientIp: string | null | undefined): boolean {
  if (list.ipv4.length === 0 && list.ipv6.length === 0) return true;
  const parsed = clientIp ? parseIpAddress(clientIp) : undefined;
  if (!parsed) return false;
  const { family, value } = unmapIpv4({ ...parsed, prefix: ADDRESS_BITS[parsed.family] });
  return (family === 4 ? list.ipv4 : list.ipv6).some(({ network, mask }) => (value & mask) === network);
}

/**
 * Whether every address `rule` covers is also allowed by `list`: a key may only hand on
 * restrictions at least as tight as its own.
 *
 * @param list - The compiled allowlist of the key granting.
 * @param rule - A valid IP or CIDR rule.
 * @returns `true` for an empty list (any IP); else `true` when one of its ranges contains `rule`.
 */
export function isIpRuleWithin(list: IpAllowlist, rule: string): boolean {
  if (list.ipv4.length === 0 && list.ipv6.length === 0) return true;
  const { family, value, prefix } = unmapIpv4(requireIpRule(rule));
  const mask = prefixMask(family, prefix);
  return (family === 4 ? list.ipv4 : list.ipv6).some((range) => (range.mask & mask) === range.mask && (value & range.mask) === range.network);
}
