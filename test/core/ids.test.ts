import { describe, expect, it } from "vitest";
import { idFloor, idTime, newId } from "../../src/core/ids";

const ID = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

describe("newId", () => {
  it("makes a prefix, 10 Crockford base32 characters of time and 16 of randomness", () => {
    const id = newId("evt", 1_800_000_000_123);
    expect(id).toMatch(ID);
    expect(idTime(id)).toBe(1_800_000_000_123);
  });

  it("sorts ids of one millisecond in creation order, and after every id of earlier milliseconds", () => {
    const t = 1_900_000_000_000;
    const ids = [newId("evt", t - 1), ...Array.from({ length: 50 }, () => newId("evt", t)), newId("evt", t + 1)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(1, -1)) expect(id >= idFloor("evt", t)).toBe(true);
  });

  it("draws fresh randomness in each new millisecond", () => {
    const t = 2_000_000_000_000;
    const a = newId("evt", t).slice(14);
    const b = newId("evt", t + 1).slice(14);
    const c = newId("evt", t + 2).slice(14);
    expect(new Set([a, b, c]).size).toBe(3);
  });
});
