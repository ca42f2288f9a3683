// Memory at rest (issue 19): glibc's malloc keeps the pages it freed. Start-up frees a few MiB
// of C heap (module loading, V8's compile jobs on its worker threads), and so does closing many
// relays (each native relay is a C++ object); without a trim they stay resident for the node's
// lifetime. The native addon's trimMemory (malloc_trim(0)) gives them back. It costs a walk of
// the arenas' free lists, a millisecond or so, so it runs once after start-up and then only after
// a large fall in live allocations, never per packet or per allocation.
//
// After start-up, before that trim, the V8 heap of a node at rest is collected once as V8's memory
// reducer would collect an idle heap (npm start runs with --no-memory-reducer: the reducer ran
// full collections under paced relay load): compacted, its new space shrunk to the minimum and the
// bytecode of start-up's functions (configuration, module bodies, loading the store) dropped. An
// idle node otherwise keeps about 7 MiB of V8 heap that start-up left: a grown new space,
// fragmented old space pages and bytecode that never runs again. It blocks the JS thread once,
// some tens of ms (the debug line 'V8 heap collected' gives the time and the heap before and
// after), and makes V8 compile again every function whose bytecode it dropped. So it runs only on
// a node still at rest when start-up has settled, one that has had no allocation yet: a node that
// has is in service, its code is hot, and the collection would only cost a pause and a
// recompilation when the next calls come (run during a relay load it cost the JS and V8 helper
// threads 0.2-0.3 s and turned paced 0.88x into 1.19x coturn's CPU per packet; run at the first
// moment with no live allocation, it still landed in the first seconds of the next load, paced
// 0.77x -> 1.09x: bench/README.md). Such a node gets the trim alone.

/** A fall of this many live allocations below their peak since the last trim triggers one. */
export const TRIM_AFTER_FREED_ALLOCATIONS = 1_000;

/** Why a trim ran. */
export type TrimReason = 'started' | 'allocations_freed';

/** When to call `trim`: once after start-up, then after each large fall in live allocations. */
export class MemoryTrim {
  readonly #trim: () => boolean;
  readonly #collectGarbage: (() => Promise<void>) | undefined;
  readonly #onTrim: ((reason: TrimReason, released: boolean) => void) | undefined;
  readonly #minFreed: number;
  #peak = 0;
  /** What afterStart returned; undefined until it is called. */
  #afterStart: Promise<void> | undefined;

  constructor(
    trim: () => boolean,
    options: {
      minFreed?: number;
      onTrim?: (reason: TrimReason, released: boolean) => void;
      /** Collects the V8 heap (NativeDataPlane.collectIdleGarbage); run once, before the trim after start-up. */
      collectGarbage?: () => Promise<void>;
    } = {},
  ) {
    this.#trim = trim;
    this.#collectGarbage = options.collectGarbage;
    this.#onTrim = options.onTrim;
    this.#minFreed = options.minFreed ?? TRIM_AFTER_FREED_ALLOCATIONS;
  }

  /**
   * Start-up has settled (`created`: the allocations created so far, live or ended): on a node at
   * rest (none yet), start-up's garbage is collected first; then what was freed goes back. Resolves
   * when that has run; asking again returns the same promise.
   */
  afterStart(created: number): Promise<void> {
    if (this.#afterStart === undefined) {
      if (created === 0) {
        this.#afterStart = this.#collectAndTrim();
      } else {
        this.#run('started');
        this.#afterStart = Promise.resolve();
      }
    }
    return this.#afterStart;
  }

  /**
   * With each gauge sample (`live`: the allocations live now): trims when `live` is at least
   * minFreed below its peak since the last trim.
   */
  sample(live: number): void {
    if (live >= this.#peak) {
      this.#peak = live;
      return;
    }
    if (this.#peak - live < this.#minFreed) return;
    this.#peak = live;
    this.#run('allocations_freed');
  }

  async #collectAndTrim(): Promise<void> {
    // First: a compacting collection releases V8 pages and frees C memory that the trim returns.
    await this.#collectGarbage?.();
    this.#run('started');
  }

  #run(reason: TrimReason): void {
    const released = this.#trim();
    this.#onTrim?.(reason, released);
  }
}
