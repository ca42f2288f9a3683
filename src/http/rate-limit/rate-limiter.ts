// Fixed-window request counting. A window of `windowMs` starts at multiples of `windowMs`
// since the epoch on every node alike, so replicas sharing Redis count into the same window.

/** The outcome of counting one request. */
export interface RateDecision {
  allowed: boolean;
  /** Requests counted in this window, this one included. */
  count: number;
  limit: number;
  /** When the window ends (ms since the epoch). */
  resetAt: number;
}

/** How many requests one key may make per window. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

/** One count to make: `key` under `rule`, named `scope` (e.g. 'ip'). */
export interface RateHit {
  scope: string;
  key: string;
  rule: RateLimitRule;
}

/** Counts requests per key in fixed windows. */
export interface RateLimiter {
  /** Counts one request of `key` under `rule` (named `scope`, e.g. 'ip') at `now`. */
  hit(scope: string, key: string, rule: RateLimitRule, now: number): Promise<RateDecision>;
  /**
   * `hit` answered at once, for a limiter that counts in memory (absent on one that must ask
   * another process): the credential route then decides without a promise (issue 19).
   */
  hitNow?(scope: string, key: string, rule: RateLimitRule, now: number): RateDecision;
  /**
   * Counts `first`, then `then` only if `first` was allowed (undefined otherwise), in one step:
   * the credential routes' IP and tenant limits in one Redis call instead of two, one after the
   * other (issue 19). Absent on a limiter that counts in memory.
   */
  hitBoth?(first: RateHit, then: RateHit, now: number): Promise<[RateDecision, RateDecision | undefined]>;
}

/** The window index and its end for `now`. */
export function windowOf(rule: RateLimitRule, now: number): { index: number; resetAt: number } {
  const index = Math.floor(now / rule.windowMs);
  return { index, resetAt: (index + 1) * rule.windowMs };
}

/** In-process fixed windows; bounded: when full, finished windows are swept, then the oldest. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #counts = new Map<string, { resetAt: number; count: number }>();

  constructor(private readonly capacity = 100_000) {}

  async hit(scope: string, key: string, rule: RateLimitRule, now: number): Promise<RateDecision> {
    return this.hitNow(scope, key, rule, now);
  }

  /** The synchronous form (the credential route's, and the Redis limiter's fallback). */
  hitNow(scope: string, key: string, rule: RateLimitRule, now: number): RateDecision {
    const { resetAt } = windowOf(rule, now);
    const id = `${scope}\u0000${key}`;
    const slot = this.#counts.get(id);
    let count: number;
    if (slot !== undefined && slot.resetAt === resetAt) count = ++slot.count;
    else {
      if (slot === undefined && this.#counts.size >= this.capacity) this.#sweep(now);
      this.#counts.set(id, { resetAt, count: 1 });
      count = 1;
    }
    return { allowed: count <= rule.limit, count, limit: rule.limit, resetAt };
  }

  #sweep(now: number): void {
    for (const [id, slot] of this.#counts) if (slot.resetAt <= now) this.#counts.delete(id);
    for (const id of this.#counts.keys()) {
      if (this.#counts.size < this.capacity) break;
      this.#counts.delete(id);
    }
  }
}
