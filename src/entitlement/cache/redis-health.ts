// One view per process of whether Redis answers. Every Redis user (entitlement cache, rate
// limits, tenant events) reports here, so an outage is logged once, not once per request or
// per component, and once more when Redis answers again.
import type { Logger } from '../../log/logger.js';
import type { EntitlementCacheMetrics, RedisFailure } from './cache-metrics.js';

/** Tracks Redis outages: counts every failure, logs the first of an outage and the recovery. */
export class RedisHealth {
  #down = false;
  #listeners = new Set<(down: boolean) => void>();
  #ready: () => boolean = () => true;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Pick<EntitlementCacheMetrics, 'redisError'>,
  ) {}

  /** True from the first failure until the next success. */
  get down(): boolean {
    return this.#down;
  }

  /** Records a failed Redis operation; the first one of an outage is logged. */
  failure(operation: RedisFailure, err: unknown): void {
    this.metrics.redisError(operation);
    if (this.#down) return;
    this.#down = true;
    this.logger.warn('redis unreachable: answering from the store and in-process caches and limits', {
      operation,
      error: err instanceof Error ? err.message : String(err),
    });
    for (const listener of this.#listeners) listener(true);
  }

  /**
   * Names the test of "every command can be sent" (openRedis: the command connection is ready).
   * While reconnecting, ioredis already sends the commands Redis allows during loading (PUBLISH,
   * MULTI, INFO) before the connection is ready; one of those answering must not end the outage,
   * or the listeners' own writes (the fleet ledger's resync) fail at once with "Stream isn't
   * writeable" and the outage is logged a second time.
   */
  readyWhen(ready: () => boolean): void {
    this.#ready = ready;
  }

  /** Records a successful Redis operation; ends an outage once the connection is ready. */
  success(): void {
    if (!this.#down || !this.#ready()) return;
    this.#down = false;
    this.logger.info('redis reachable again');
    for (const listener of this.#listeners) listener(false);
  }

  /** Calls `listener(down)` on every change of state; returns the unsubscribe function. */
  onChange(listener: (down: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
