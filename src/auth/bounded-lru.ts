/**
 * A size-bounded least-recently-used map. Map keeps insertion order, so a hit is moved to the
 * end by delete+set and eviction takes the first key: O(1) per operation, no timers.
 */
export class BoundedLru<K, V> {
  readonly #entries = new Map<K, V>();
  /** The most recently used key: a hit on it is already in place (no delete+set, no map churn). */
  #newest: K | undefined;
  #hasNewest = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('BoundedLru capacity must be a positive integer');
    }
  }

  /** Number of entries currently held (never above `capacity`). */
  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    if (this.#hasNewest && this.#newest === key) return value;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    this.#newest = key;
    this.#hasNewest = true;
    return value;
  }

  /** Stores `value`, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    if (this.#entries.has(key)) this.#entries.delete(key);
    else if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    this.#newest = key;
    this.#hasNewest = true;
  }

  /** Whether `key` is held, without touching its recency. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
    this.#hasNewest = false;
  }
}
