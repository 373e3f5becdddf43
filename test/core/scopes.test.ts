import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Catalog,
  catalogIssues,
  compileGrants,
  exceedingScopes,
  expandPreset,
  grantsSatisfy,
  missingScopes,
  normalizeScopes,
  satisfies,
} from "../../src/core/scopes";
import { KEYGATE_SCOPES, SCOPE_PATTERN, WILDCARD_PATTERN } from "../../src/core/scope-grammar";

const CATALOG: Catalog = {
  scopes: {
    "content:read": "Read content",
    "content:write": "Write content",
    "real-prompter:project:read": "Read projects",
    "real-prompter:project:write": "Write projects",
    "real-prompter:prompt:read": "Read prompts",
    "stories:read": "Read stories",
    "stories:publish": "Publish stories",
  },
  wildcards: { "real-prompter:*": "All Real Prompter operations" },
  presets: { "read-only": ["content:read", "stories:read"], "publish-only": ["stories:publish"] },
};

const KEYGATE = Object.keys(KEYGATE_SCOPES);

// Segments mix familiar names (so generated scopes often share prefixes) with arbitrary ones.
const segment = fc.oneof(
  fc.constantFrom("content", "contents", "read", "write", "keygate", "keys", "real-prompter", "project", "a", "0"),
  fc
    .tuple(
      fc.constantFrom(..."abz09"),
      fc.string({ unit: fc.constantFrom(..."az09_-"), maxLength: 5 }),
    )
    .map(([first, rest]) => first + rest),
);
const prefix = fc.array(segment, { minLength: 1, maxLength: 2 }).map((segments) => segments.join(":"));
const scope = fc.oneof(
  fc.array(segment, { minLength: 2, maxLength: 3 }).map((segments) => segments.join(":")),
  fc.constantFrom(...KEYGATE),
);
const wildcard = fc.oneof(fc.constant("*"), prefix.map((p) => `${p}:*`), fc.constant("keygate:*"));
const grant = fc.oneof(scope, wildcard);

describe("scope grammar", () => {
  it("accepts the examples content:read, real-prompter:project:read and stories:publish", () => {
    expect(catalogIssues(["content:read", "real-prompter:project:read", "stories:publish"], CATALOG)).toEqual([]);
  });

  it("accepts the wildcards *, real-prompter:*, real-prompter:project:* and stories:*", () => {
    expect(catalogIssues(["*", "real-prompter:*", "real-prompter:project:*", "stories:*"], CATALOG)).toEqual([]);
  });

  it("rejects *:read, con*:read, a:b:c:d, Content:Read and content: as scopes", () => {
    const invalid = ["*:read", "con*:read", "a:b:c:d", "Content:Read", "content:", "content", ":read", "*:*", ""];
    const catalog = { ...CATALOG, scopes: Object.fromEntries(invalid.map((s) => [s, "listed anyway"])) };
    expect(catalogIssues(invalid, catalog)).toEqual(invalid);
  });

  it("accepts every catalog string the grammar matches", () => {
    fc.assert(
      fc.property(fc.stringMatching(SCOPE_PATTERN), (s) => {
        return catalogIssues([s], { ...CATALOG, scopes: { [s]: "generated" } }).length === 0;
      }),
    );
  });

  it("rejects scopes with an uppercase letter or a segment starting with -", () => {
    const withUppercase = fc
      .tuple(scope, fc.nat(), fc.constantFrom(..."ABCXYZ"))
      .map(([s, i, upper]) => {
        const at = i % s.length;
        return s.slice(0, at) + upper + s.slice(at + 1);
      });
    const withLeadingDash = fc
      .tuple(fc.array(segment, { minLength: 2, maxLength: 3 }), fc.nat())
      .map(([segments, i]) => segments.map((seg, j) => (j === i % segments.length ? `-${seg}` : seg)).join(":"));
    fc.assert(
      fc.property(fc.oneof(withUppercase, withLeadingDash), (s) => {
        expect(SCOPE_PATTERN.test(s) || WILDCARD_PATTERN.test(s)).toBe(false);
        expect(catalogIssues([s], { ...CATALOG, scopes: { [s]: "listed anyway" } })).toEqual([s]);
      }),
    );
  });
});

describe("satisfies", () => {
  it("is satisfied by the same scope", () => {
    fc.assert(fc.property(grant, (g) => satisfies(g, g)));
  });

  it("lets * satisfy every scope except keygate: scopes", () => {
    fc.assert(fc.property(scope, (r) => satisfies("*", r) === !r.startsWith("keygate:")));
  });

  it("does not let * satisfy keygate:keys:read or keygate:*", () => {
    expect(satisfies("*", "keygate:keys:read")).toBe(false);
    expect(satisfies("*", "keygate:*")).toBe(false);
  });

  it("lets P:* satisfy exactly the scopes starting with P:", () => {
    fc.assert(fc.property(prefix, scope, (p, r) => satisfies(`${p}:*`, r) === r.startsWith(`${p}:`)));
  });

  it("lets real-prompter:* satisfy real-prompter:project:read and stories:* satisfy stories:publish", () => {
    expect(satisfies("real-prompter:*", "real-prompter:project:read")).toBe(true);
    expect(satisfies("real-prompter:project:*", "real-prompter:project:read")).toBe(true);
    expect(satisfies("real-prompter:project:*", "real-prompter:prompt:read")).toBe(false);
    expect(satisfies("stories:*", "stories:publish")).toBe(true);
  });

  it("does not let content:* satisfy contents:read (a prefix ends at a segment boundary)", () => {
    expect(satisfies("content:*", "contents:read")).toBe(false);
  });

  it("lets keygate:keys:write satisfy keygate:keys:read but not the reverse", () => {
    expect(satisfies("keygate:keys:write", "keygate:keys:read")).toBe(true);
    expect(satisfies("keygate:keys:read", "keygate:keys:write")).toBe(false);
    expect(satisfies("keygate:keys:write", "keygate:projects:write")).toBe(false);
  });

  it("lets the explicit keygate:* grant satisfy every keygate: scope", () => {
    for (const r of KEYGATE) expect(satisfies("keygate:*", r)).toBe(true);
  });

  it("satisfies a required wildcard only with the same or a wider one", () => {
    expect(satisfies("content:*", "content:*")).toBe(true);
    expect(satisfies("*", "content:*")).toBe(true);
    expect(satisfies("content:read", "content:*")).toBe(false);
    expect(satisfies("content:*", "*")).toBe(false);
    expect(satisfies("real-prompter:*", "real-prompter:project:*")).toBe(true);
    expect(satisfies("real-prompter:project:*", "real-prompter:*")).toBe(false);
  });
});

describe("compiled grants", () => {
  it("agree with satisfies for any grants and required scope", () => {
    const anyGrant = fc.oneof(grant, fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(anyGrant, { maxLength: 6 }), fc.oneof(grant, fc.string({ maxLength: 12 })), (gs, r) => {
        return grantsSatisfy(compileGrants(gs), r) === gs.some((g) => satisfies(g, r));
      }),
      { numRuns: 2000 },
    );
  });

  it("list the missing required scopes in order", () => {
    const grants = compileGrants(["content:read", "stories:*", "keygate:keys:write"]);
    const required = ["content:write", "stories:publish", "keygate:keys:read", "content:read", "keygate:audit:read"];
    expect(missingScopes(grants, required)).toEqual(["content:write", "keygate:audit:read"]);
    expect(missingScopes(compileGrants(["*"]), ["content:write", "keygate:keys:read"])).toEqual(["keygate:keys:read"]);
    expect(missingScopes(compileGrants([]), [])).toEqual([]);
  });
});

describe("granting scopes", () => {
  it("allows a wildcard covering a catalog scope even when catalog.wildcards does not list it", () => {
    expect(catalogIssues(["content:*", "real-prompter:prompt:*"], CATALOG)).toEqual([]);
  });

  it("rejects scopes outside the catalog and wildcards covering none of it with the bad entries", () => {
    const requested = ["content:read", "content:delete", "nothing:*", "stories:read:*", "real-prompter:chat:*"];
    expect(catalogIssues(requested, CATALOG)).toEqual(["content:delete", "nothing:*", "stories:read:*", "real-prompter:chat:*"]);
  });

  it("treats Keygate's own scopes as part of every catalog", () => {
    expect(catalogIssues([...KEYGATE, "keygate:*", "keygate:keys:*"], CATALOG)).toEqual([]);
    expect(catalogIssues(["keygate:keys:delete"], CATALOG)).toEqual(["keygate:keys:delete"]);
  });

  it("rejects * when it covers no catalog scope (only keygate: ones)", () => {
    expect(catalogIssues(["*"], { scopes: {}, wildcards: {}, presets: {} })).toEqual(["*"]);
  });

  it("never grants more than the creator holds", () => {
    const creator = compileGrants(["content:*", "stories:read", "keygate:keys:write"]);
    const requested = ["content:read", "content:*", "stories:*", "*", "keygate:keys:read", "keygate:keys:*"];
    expect(exceedingScopes(requested, creator)).toEqual(["stories:*", "*", "keygate:keys:*"]);
  });

  it("does not let a creator holding * grant keygate: scopes", () => {
    expect(exceedingScopes(["content:read", "keygate:keys:read", "*"], compileGrants(["*"]))).toEqual(["keygate:keys:read"]);
  });

  it("lets a creator grant any subset of what it holds", () => {
    const heldAndRequested = fc
      .array(grant, { maxLength: 6 })
      .chain((held) => fc.tuple(fc.constant(held), fc.subarray(held)));
    fc.assert(
      fc.property(heldAndRequested, ([held, requested]) => exceedingScopes(requested, compileGrants(held)).length === 0),
    );
  });
});

describe("presets", () => {
  it("expand to a copy of their scopes", () => {
    const scopes = expandPreset("read-only", CATALOG);
    expect(scopes).toEqual(["content:read", "stories:read"]);
    scopes!.push("content:write");
    expect(CATALOG.presets["read-only"]).toEqual(["content:read", "stories:read"]);
  });

  it("are undefined when unknown, including inherited property names", () => {
    expect(expandPreset("admin", CATALOG)).toBeUndefined();
    expect(expandPreset("constructor", CATALOG)).toBeUndefined();
    expect(expandPreset("__proto__", CATALOG)).toBeUndefined();
  });
});

describe("normalizeScopes", () => {
  it("drops duplicates and keeps the first occurrences in order", () => {
    expect(normalizeScopes(["b:x", "a:x", "b:x", "c:x", "a:x"])).toEqual(["b:x", "a:x", "c:x"]);
  });
});
