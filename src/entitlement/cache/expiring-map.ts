// A bounded in-process map whose entries vanish at their own deadline. Used for the L1
// entitlement cache and the license-key cache; freshness beyond "still usable" is the caller's.

interface Slot<V> {
  value: V;
  deadline: number;
}

/** A size-bounded map of entries that each expire at their own instant (ms since the epoch). */
export class ExpiringMap<V> {
  readonly #slots = new Map<string, Slot<V>>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
  }

  /** Entries currently held, expired ones not yet swept included. */
  get size(): number {
    return this.#slots.size;
  }

  /** The value for `key` while `now` is before its deadline. */
  get(key: string, now: number): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (now >= slot.deadline) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot.value;
  }

  /** Stores `value` until `deadline`; when full, evicts the entry stored longest ago. */
  set(key: string, value: V, deadline: number): void {
    if (this.#slots.has(key)) this.#slots.delete(key);
    else if (this.#slots.size >= this.capacity) {
      const oldest = this.#slots.keys().next();
      if (!oldest.done) this.#slots.delete(oldest.value);
    }
    this.#slots.set(key, { value, deadline });
  }

  /** Removes `key`. */
  delete(key: string): void {
    this.#slots.delete(key);
  }

  /** Removes every entry whose value matches. */
  deleteWhere(matches: (value: V, key: string) => boolean): void {
    for (const [key, slot] of this.#slots) if (matches(slot.value, key)) this.#slots.delete(key);
  }

  /** Removes everything. */
  clear(): void {
    this.#slots.clear();
  }
}
