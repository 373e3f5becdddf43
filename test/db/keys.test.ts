/**
 * The SQL behind rotation: two rotations racing on the same key cannot both link a successor.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { findKeyById, insertKey, rotateKey, type StoredKey } from "../../src/db/keys";
import { insertOrg } from "../../src/db/orgs";
import { newId } from "../../src/core/ids";

function storedKey(orgId: string, rotatedFrom: string | null = null): StoredKey {
  const id = newId("key");
  return {
    hash: id.padEnd(64, "0"),
    record: {
      id, org_id: orgId, project_id: null, name: "k", key_prefix: "kg_live_abcd", scopes: ["content:read"], preset: null,
      allowed_ips: [], allowed_origins: [], restrictions_mode: "enforce", not_before: null, expires_at: null,
      last_used_at: null, created_at: new Date().toISOString(), revoked_at: null, rotated_from: rotatedFrom, rotated_to: null,
      rate_limits: [], quota: null, rotation_root_id: id,
    },
  };
}

describe("rotateKey", () => {
  it("links exactly one successor when two rotations race from the same stale read", async () => {
    const orgId = newId("org");
    await insertOrg(env.DB, { id: orgId, name: "o", created_at: new Date().toISOString() });
    const old = storedKey(orgId);
    await insertKey(env.DB, old);
    const first = storedKey(orgId, old.record.id);
    const second = storedKey(orgId, old.record.id);
    const expiresAt = new Date().toISOString();

    expect(await rotateKey(env.DB, { id: old.record.id, expiresAt }, first)).toBe(true);
    expect(await rotateKey(env.DB, { id: old.record.id, expiresAt }, second)).toBe(false);

    expect((await findKeyById(env.DB, orgId, old.record.id))?.record.rotated_to).toBe(first.record.id);
    expect(await findKeyById(env.DB, orgId, second.record.id)).toBeNull();
  });
});
