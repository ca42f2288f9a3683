// Sampled, rate-limited log lines for events that an attacker or a broken client can repeat at
// line rate (TURN authentication failures, peer denials): per kind of event, a small burst of
// lines, then at most one per interval. Each line says how many like it were left out before it,
// so the sample still shows the volume; the exact counts are the metrics.

import type { Logger } from './logger.js';

/** Options of a SampledLog. */
export interface SampledLogOptions {
  logger: Logger;
  /** Lines per key written at once before the rate applies (default 5). */
  burst?: number;
  /** Then one line per key per this many ms (default 10 s). */
  intervalMs?: number;
  clock?: () => number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
  suppressed: number;
}

/** A token bucket per key (a closed set such as a reason label); lines beyond it are counted, not written. */
export class SampledLog {
  readonly #log: Logger;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: SampledLogOptions) {
    this.#log = options.logger;
    this.#burst = options.burst ?? 5;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Writes `message` with `fields` at warn level unless `key` is over its rate. */
  warn(key: string, message: string, fields: Record<string, unknown>): void {
    const now = this.#clock();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, refilledAt: now, suppressed: 0 };
      this.#buckets.set(key, bucket);
    }
    const earned = Math.floor((now - bucket.refilledAt) / this.#intervalMs);
    if (earned > 0) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + earned);
      bucket.refilledAt += earned * this.#intervalMs;
    }
    if (bucket.tokens < 1) {
      bucket.suppressed++;
      return;
    }
    bucket.tokens--;
    const suppressed = bucket.suppressed;
    bucket.suppressed = 0;
    this.#log.warn(message, suppressed > 0 ? { ...fields, suppressedBefore: suppressed } : fields);
  }
}
