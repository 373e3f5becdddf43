/**
 * migrations/0003_auth.sql against better-auth's own schema, and Keygate's ids on its records.
 */
import { env } from "cloudflare:test";
import { getMigrations } from "better-auth/db/migration";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../src/auth/auth";
import { OrgIdSchema } from "../../src/schemas/key";
import { createOrgAs, signUp } from "../helpers/auth";

const ULID = "[0-9A-HJKMNP-TV-Z]{26}";

describe("better-auth schema", () => {
  it("has every table, column and index better-auth writes (the Worker skips its runtime check)", async () => {
    // Type notes (TEXT timestamps where better-auth would declare `date`) are expected; not errors.
    const options = { ...getAuth(env).options, logger: { level: "error" as const } };
    const migrations = await getMigrations(options, { throwOnUnsafe: false });
    expect(migrations.toBeCreated).toEqual([]);
    expect(migrations.toBeAdded).toEqual([]);
    expect(migrations.toBeAddedIndexes).toEqual([]);
    expect(migrations.schemaProblems).toEqual([]);
    expect(options.advanced.database.validateSchema).toBe(false);
  });

  it("gives users, sessions, accounts, orgs and members K-sortable ids with Keygate's prefixes", async () => {
    const user = await signUp();
    const org = await createOrgAs(user);
    expect(user.userId).toMatch(new RegExp(`^usr_${ULID}$`));
    expect(OrgIdSchema.safeParse(org).success).toBe(true);
    const ids = await env.DB.batch([
      env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?").bind(user.userId),
      env.DB.prepare("SELECT id FROM accounts WHERE user_id = ?").bind(user.userId),
      env.DB.prepare("SELECT id FROM members WHERE user_id = ?").bind(user.userId),
    ]);
    const [session, account, member] = ids.map((result) => (result.results[0] as { id: string }).id);
    expect(session).toMatch(new RegExp(`^ses_${ULID}$`));
    expect(account).toMatch(new RegExp(`^acc_${ULID}$`));
    expect(member).toMatch(new RegExp(`^mem_${ULID}$`));
  });
});
