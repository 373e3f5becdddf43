/**
 * Cached keys share what they repeat (org id, scope set, compiled grants, empty lists), and sharing
 * never changes what a key may do.
 */
import { describe, expect, it } from "vitest";
import { compileKey, type KeyState } from "../../src/caller/active-key";
import { isIpAllowed } from "../../src/core/ip";
import { isOriginAllowed } from "../../src/core/origin";
import { grantsSatisfy } from "../../src/core/scopes";

function state(overrides: Partial<KeyState> = {}): KeyState {
  const id = `key_${crypto.randomUUID()}`;
  return {
    id,
    org_id: JSON.parse('"org_shared"') as string,
    project_id: null,
    key_prefix: "kg_live_abcd",
    scopes: JSON.parse('["stories:read","media:*"]') as string[],
    allowed_ips: [],
    allowed_origins: [],
    restrictions_mode: "enforce",
    not_before: null,
    expires_at: null,
    revoked_at: null,
    rate_limits: [],
    quota: null,
    rotation_root_id: id,
    ...overrides,
  };
}

describe("compileKey", () => {
  it("shares the org id, scope list and compiled grants of keys with the same org and scopes", () => {
    const a = compileKey(state());
    const b = compileKey(state());
    expect(b.orgId).toBe(a.orgId);
    expect(b.scopes).toBe(a.scopes);
    expect(b.grants).toBe(a.grants);
    expect(b.ips).toBe(a.ips);
    expect(b.origins).toBe(a.origins);
  });

  it("gives a key with other scopes its own grants, which match its own scopes only", () => {
    const reader = compileKey(state());
    const writer = compileKey(state({ scopes: ["stories:write"] }));
    expect(writer.grants).not.toBe(reader.grants);
    expect(writer.scopes).toEqual(["stories:write"]);
    expect(grantsSatisfy(writer.grants, "stories:write")).toBe(true);
    expect(grantsSatisfy(writer.grants, "stories:read")).toBe(false);
    expect(grantsSatisfy(reader.grants, "media:upload")).toBe(true);
    expect(grantsSatisfy(reader.grants, "stories:write")).toBe(false);
  });

  it("keeps a key's shared scope list frozen, so no caller can widen another key's scopes", () => {
    const key = compileKey(state());
    expect(Object.isFrozen(key.scopes)).toBe(true);
    expect(() => (key.scopes as string[]).push("admin:write")).toThrow(TypeError);
  });

  it("still enforces a key's own IP and Origin rules beside keys that have none", () => {
    const open = compileKey(state());
    const bound = compileKey(state({ allowed_ips: ["10.0.0.0/8"], allowed_origins: ["https://app.example.com"] }));
    expect(isIpAllowed(open.ips, "192.0.2.1")).toBe(true);
    expect(isIpAllowed(bound.ips, "192.0.2.1")).toBe(false);
    expect(isIpAllowed(bound.ips, "10.1.2.3")).toBe(true);
    expect(isOriginAllowed(bound.origins, "https://evil.example")).toBe(false);
    expect(isOriginAllowed(bound.origins, "https://app.example.com")).toBe(true);
    expect(bound.ipRules).toEqual(["10.0.0.0/8"]);
  });

  it("counts a rotated key against its chain's root, and an unrotated key against itself", () => {
    const unrotated = state();
    expect(compileKey(unrotated).counterId).toBe(unrotated.id);
    expect(compileKey(state({ rotation_root_id: "key_root" })).counterId).toBe("key_root");
  });
});
