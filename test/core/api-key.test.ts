import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KeyEnv } from "../../src/core/api-key";
import {
  API_KEY_LENGTH,
  API_KEY_PREFIX_LENGTH,
  crc32,
  generateApiKey,
  hashApiKey,
  isKeygateToken,
  keyPrefix,
  parseApiKey,
  toBase62,
} from "../../src/core/api-key";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Keys computed independently with Python's `zlib.crc32`. */
const ZLIB_VECTORS = [
  "kg_live_000000000000000000000000000000004eeaNr",
  "kg_test_0123456789abcdefghijklmnopqrstuv2l8Lsv",
  "kg_live_Zx9qL2mP4vB7nR1tK8wY3hC6jD5fG0sE1hq89c",
];
const VALID_LIVE_KEY = ZLIB_VECTORS[2]!;

/** Table-free CRC-32, the textbook definition, to check the table-driven one against. */
function bitwiseCrc32(input: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < input.length; i++) {
    crc ^= input.charCodeAt(i);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const asciiString = fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)) });
const keyEnv = fc.constantFrom<KeyEnv>("live", "test");
/** Valid keys built from fast-check's randomness and the reference CRC, so failures shrink. */
const validKey = fc
  .tuple(keyEnv, fc.string({ unit: fc.constantFrom(...BASE62), minLength: 32, maxLength: 32 }))
  .map(([env, random]) => {
    const body = `kg_${env}_${random}`;
    return { env, key: body + toBase62(bitwiseCrc32(body), 6) };
  });

describe("CRC-32 checksum", () => {
  it("matches zlib's known vectors", () => {
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });

  it("agrees with the bitwise definition on any ASCII string", () => {
    fc.assert(fc.property(asciiString, (s) => crc32(s) === bitwiseCrc32(s)));
  });

  it("checksums only the leading characters when given a length", () => {
    fc.assert(fc.property(asciiString, asciiString, (a, b) => crc32(a + b, a.length) === crc32(a)));
  });
});

describe("base62 encoding", () => {
  it("writes the most significant digit first, left-padded with 0", () => {
    expect(toBase62(0, 6)).toBe("000000");
    expect(toBase62(61, 2)).toBe("0z");
    expect(toBase62(62, 2)).toBe("10");
    expect(toBase62(0xffffffff, 6)).toBe("4gfFC3");
  });

  it("fits every CRC-32 value in 6 digits that sort like the numbers", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, (a, b) => {
        const [ea, eb] = [toBase62(a, 6), toBase62(b, 6)];
        return /^[0-9A-Za-z]{6}$/.test(ea) && a < b === ea < eb;
      }),
    );
  });

  it("throws a RangeError when the number does not fit", () => {
    expect(() => toBase62(62 ** 2, 2)).toThrow(RangeError);
    expect(() => toBase62(-1, 6)).toThrow(RangeError);
    expect(() => toBase62(1.5, 6)).toThrow(RangeError);
  });
});

describe("generateApiKey", () => {
  it("makes a 46-character kg_<env>_ key whose last 6 characters are the CRC-32 of the rest", () => {
    for (const env of ["live", "test"] as const) {
      const key = generateApiKey(env);
      expect(key).toMatch(new RegExp(`^kg_${env}_[0-9A-Za-z]{38}$`));
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(key.slice(40)).toBe(toBase62(bitwiseCrc32(key.slice(0, 40)), 6));
    }
  });

  it("makes keys that always parse in their own env", () => {
    fc.assert(
      fc.property(keyEnv, (env) => parseApiKey(generateApiKey(env), env).ok),
      { numRuns: 500 },
    );
  });

  it("never makes the same key twice", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey("live")));
    expect(keys.size).toBe(1000);
  });

  it("draws every base62 character equally often (no modulo bias)", () => {
    const counts = new Map<string, number>();
    const keyCount = 5000;
    for (let i = 0; i < keyCount; i++) {
      for (const char of generateApiKey("live").slice(8, 40)) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    // Expected 2581 each (σ ≈ 50); `byte % 62` over all 256 bytes would overweight 0-7 by 21 %.
    const expected = (keyCount * 32) / BASE62.length;
    for (const char of BASE62) {
      expect(Math.abs((counts.get(char) ?? 0) - expected) / expected).toBeLessThan(0.12);
    }
  });
});

describe("parseApiKey", () => {
  it("accepts keys checksummed by zlib and returns their 12-character prefix", () => {
    for (const key of ZLIB_VECTORS) {
      const env = key.startsWith("kg_live_") ? "live" : "test";
      expect(parseApiKey(key, env)).toEqual({ ok: true, key, prefix: key.slice(0, 12) });
    }
  });

  it("rejects a valid key of the other env as well-formed", () => {
    expect(parseApiKey(generateApiKey("test"), "live")).toEqual({ ok: false, wellFormed: true });
    expect(parseApiKey(generateApiKey("live"), "test")).toEqual({ ok: false, wellFormed: true });
  });

  it("accepts any correctly checksummed key of its env", () => {
    fc.assert(fc.property(validKey, ({ env, key }) => parseApiKey(key, env).ok));
  });

  it("rejects any single-character change of a valid key", () => {
    const anyChar = fc.oneof(fc.constantFrom(...BASE62, "_", ",", "-", " "), fc.string({ minLength: 1, maxLength: 1 }));
    fc.assert(
      fc.property(validKey, fc.nat({ max: API_KEY_LENGTH - 1 }), anyChar, ({ key }, index, char) => {
        fc.pre(key[index] !== char);
        const mutated = key.slice(0, index) + char + key.slice(index + 1);
        return !parseApiKey(mutated, "live").ok && !parseApiKey(mutated, "test").ok;
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects a key with a wrong checksum as malformed", () => {
    const body = VALID_LIVE_KEY.slice(0, 40);
    const wrong = toBase62((crc32(body) + 1) % 2 ** 32, 6);
    expect(parseApiKey(body + wrong, "live")).toEqual({ ok: false, wellFormed: false });
  });

  it("rejects keys one character too short or too long", () => {
    expect(parseApiKey(VALID_LIVE_KEY.slice(0, 45), "live").ok).toBe(false);
    expect(parseApiKey(`${VALID_LIVE_KEY}0`, "live").ok).toBe(false);
    expect(parseApiKey(`0${VALID_LIVE_KEY}`, "live").ok).toBe(false);
  });

  it("rejects two keys joined by a comma (two x-api-key headers)", () => {
    expect(parseApiKey(`${VALID_LIVE_KEY},${VALID_LIVE_KEY}`, "live").ok).toBe(false);
    expect(parseApiKey(`${VALID_LIVE_KEY}, ${VALID_LIVE_KEY}`, "live").ok).toBe(false);
    expect(parseApiKey(`${VALID_LIVE_KEY.slice(0, 45)},`, "live").ok).toBe(false);
  });

  it("rejects non-base62 characters, an unknown env and surrounding whitespace", () => {
    const body = VALID_LIVE_KEY.slice(8, 46);
    for (const key of [
      `kg_live_${body.slice(0, 10)}-${body.slice(11)}`,
      `kg_live_${body.slice(0, 10)}é${body.slice(11)}`,
      `kg_prod_${body}`,
      `KG_LIVE_${body}`,
      ` ${VALID_LIVE_KEY.slice(1)}`,
    ]) {
      expect(parseApiKey(key, "live")).toEqual({ ok: false, wellFormed: false });
    }
  });

  it("rejects the empty string and a 10 KB string", () => {
    expect(parseApiKey("", "live")).toEqual({ ok: false, wellFormed: false });
    expect(parseApiKey(`${VALID_LIVE_KEY}${"a".repeat(10_240)}`, "live")).toEqual({ ok: false, wellFormed: false });
  });

  it("accepts no arbitrary string", () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => !parseApiKey(s, "live").ok));
  });
});

describe("keyPrefix", () => {
  it("is the first 12 characters: kg_<env>_ and 4 random characters", () => {
    expect(API_KEY_PREFIX_LENGTH).toBe(12);
    expect(keyPrefix(VALID_LIVE_KEY)).toBe("kg_live_Zx9q");
  });
});

describe("isKeygateToken", () => {
  it("treats a bearer token starting kg_ as an API key and anything else as OAuth", () => {
    expect(isKeygateToken(VALID_LIVE_KEY)).toBe(true);
    expect(isKeygateToken("kg_")).toBe(true);
    expect(isKeygateToken("eyJhbGciOiJSUzI1NiJ9.e30.sig")).toBe(false);
    expect(isKeygateToken("KG_live_x")).toBe(false);
    expect(isKeygateToken("")).toBe(false);
  });
});

describe("hashApiKey", () => {
  it("is the SHA-256 hex digest", async () => {
    expect(await hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("is 64 lowercase hex characters, deterministic, and differs between keys", async () => {
    const [a, b] = [generateApiKey("live"), generateApiKey("live")];
    const hash = await hashApiKey(a);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashApiKey(a)).toBe(hash);
    expect(await hashApiKey(b)).not.toBe(hash);
  });
});
