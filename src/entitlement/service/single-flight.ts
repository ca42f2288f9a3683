// Concurrent misses for one key share one in-flight load (per process).

/** Runs at most one load per key at a time; callers arriving meanwhile get the same promise. */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Loads in flight now. */
  get size(): number {
    return this.#inFlight.size;
  }

  /** The running load for `key`, or a new one started with `load`. */
  run(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const started = load().finally(() => {
      if (this.#inFlight.get(key) === started) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, started);
    return started;
  }

  /** Lets the next caller for `key` start a new load even while one is running (after invalidation). */
  forget(key: string): void {
    this.#inFlight.delete(key);
  }

  /** Forgets every running load. */
  forgetAll(): void {
    this.#inFlight.clear();
  }
}
