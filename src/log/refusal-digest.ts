// Repeated refusals as one line per tenant, reason and interval. A tenant at its quota can be
// refused hundreds of times a second (each browser retries); a line per refusal drowned the log
// (1,330 lines in 55 s) without telling on-call more than "tenant T, reason R, N times since S".

import type { Logger } from './logger.js';

/** Options of a RefusalDigest. */
export interface RefusalDigestOptions {
  logger: Logger;
  /** The line's message, e.g. 'TURN requests refused'. */
  message: string;
  /** Interval between summary lines, ms (default 30 s). */
  intervalMs?: number;
  /** Distinct tenant/reason pairs kept per interval; beyond, refusals are counted as `others`. */
  maxKeys?: number;
  clock?: () => number;
}

interface Tally {
  tenant: string;
  reason: string;
  count: number;
  /** Fixed fields of the first refusal of the interval (method, transport, scope). */
  fields: Record<string, unknown>;
}

/** Counts refusals per tenant and reason; writes one line per pair each interval it saw any. */
export class RefusalDigest {
  readonly #options: Required<Omit<RefusalDigestOptions, 'logger' | 'message'>>;
  readonly #log: Logger;
  readonly #message: string;
  #tallies = new Map<string, Tally>();
  /** When each pair's current run of refusals began: a pair refused in consecutive intervals keeps it. */
  #since = new Map<string, number>();
  #overflow = 0;
  #intervalStart: number;
  readonly #timer: NodeJS.Timeout;

  constructor(options: RefusalDigestOptions) {
    this.#options = {
      intervalMs: options.intervalMs ?? 30_000,
      maxKeys: options.maxKeys ?? 1_000,
      clock: options.clock ?? Date.now,
    };
    this.#log = options.logger;
    this.#message = options.message;
    this.#intervalStart = this.#options.clock();
    this.#timer = setInterval(() => this.flush(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Counts one refusal of `tenant` for `reason`. */
  record(tenant: string, reason: string, fields: Record<string, unknown> = {}): void {
    const key = `${tenant}\u0000${reason}`;
    const tally = this.#tallies.get(key);
    if (tally !== undefined) {
      tally.count++;
      return;
    }
    if (this.#tallies.size >= this.#options.maxKeys) {
      this.#overflow++;
      return;
    }
    this.#tallies.set(key, { tenant, reason, count: 1, fields });
    if (!this.#since.has(key)) this.#since.set(key, this.#options.clock());
  }

  /** Writes the interval's lines and starts the next interval. */
  flush(): void {
    const now = this.#options.clock();
    const intervalSeconds = Math.round((now - this.#intervalStart) / 100) / 10;
    const since = new Map<string, number>();
    for (const [key, t] of this.#tallies) {
      const start = this.#since.get(key) ?? now;
      since.set(key, start);
      this.#log.info(this.#message, {
        ...t.fields,
        tenant: t.tenant,
        reason: t.reason,
        count: t.count,
        intervalSeconds,
        since: new Date(start).toISOString(),
      });
    }
    if (this.#overflow > 0) {
      this.#log.warn(`${this.#message}: more tenant/reason pairs than one interval keeps`, {
        others: this.#overflow,
        intervalSeconds,
      });
    }
    // A pair that had no refusal this interval starts a new run next time.
    this.#since = since;
    this.#tallies = new Map();
    this.#overflow = 0;
    this.#intervalStart = now;
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
