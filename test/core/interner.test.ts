import { describe, expect, it } from "vitest";
import { Interner } from "../../src/core/interner";

describe("Interner", () => {
  it("hands out the value made first for every later equal key", () => {
    const interner = new Interner<{ n: number }>(10);
    const first = interner.intern("a", () => ({ n: 1 }));
    expect(interner.intern("a", () => ({ n: 2 }))).toBe(first);
    expect(interner.intern("b", () => ({ n: 3 }))).toEqual({ n: 3 });
  });

  it("holds at most maxEntries keys: past them it starts over and makes values again", () => {
    const interner = new Interner<object>(3);
    const first = interner.intern("k0", () => ({}));
    for (let i = 1; i <= 3; i++) interner.intern(`k${i}`, () => ({}));
    expect(interner.intern("k0", () => ({}))).not.toBe(first);
  });
});
