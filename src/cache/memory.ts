/**
 * @module
 * A bounded LRU map with per-entry expiry, private to one isolate.
 */

interface Slot<T> {
  value: T;
  expiresAt: number;
}

export class MemoryCache<T> {
  readonly #slots = new Map<string, Slot<T>>();

  constructor(readonly maxEntries: number) {}

  /** The live value for `key`, or `undefined` on a miss or after its expiry. */
  get(key: string, now: number): { value: T } | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    this.#slots.delete(key);
    if (slot.expiresAt <= now) return undefined;
    this.#slots.set(key, slot);
    return { value: slot.value };
  }

  set(key: string, value: T, expiresAt: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt });
    if (this.#slots.size > this.maxEntries) {
      const oldest = this.#slots.keys().next().value;
      if (oldest !== undefined) this.#slots.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#slots.delete(key);
  }

  clear(): void {
    this.#slots.clear();
  }
}
