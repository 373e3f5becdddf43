/**
 * @module
 * One shared copy of equal values that many cached entries repeat (an org's id, a scope set and
 * its compiled grants), so a full cache holds each once instead of once per entry.
 */

/**
 * A bounded map from a key to the one value made for it. Past `maxEntries` distinct keys it starts
 * over: that only costs sharing for a while, never a wrong value, and it bounds what it can hold.
 */
export class Interner<T> {
  readonly #values = new Map<string, T>();

  constructor(readonly maxEntries: number) {}

  /** The value for `key`, made by `make` the first time (and again after a reset). */
  intern(key: string, make: () => T): T {
    let value = this.#values.get(key);
    if (value === undefined) {
      if (this.#values.size >= this.maxEntries) this.#values.clear();
      value = make();
      this.#values.set(key, value);
    }
    return value;
  }
}
