// Per-tenant usage accounting (issue 6): bytes relayed and allocation-seconds per tenant per JST
// day. The relay observer feeds it; it keeps two in-memory ledgers:
//
// - the store ledger: this node's own increments, added to the store (`addUsage`, which sums)
//   every minute and at shutdown. Each node writes only what it counted itself, so with any
//   number of nodes nothing is counted twice, and there is no hand-off through Redis whose
//   crash could lose or repeat a batch. A failed write keeps its rows for the next flush.
// - the live ledger (only with REDIS_URL): the same increments, pushed every few seconds to the
//   per-day Redis hashes (redis-usage-view.ts), so an operator sees the whole fleet's usage of
//   today before the next flush. It is never copied into the store.
import type { Redis } from 'ioredis';
import { jstDateOf } from '../entitlement/rules/index.js';
import type { EntitlementStore, UsageRow } from '../entitlement/store/index.js';
import type { JstDate } from '../entitlement/types.js';
import type { Logger } from '../log/logger.js';
import { RedisUsageView } from './redis-usage-view.js';
import { secondsByJstDay } from './usage-interval.js';
import { UsageLedger } from './usage-ledger.js';
import { mergeUsageMax, type UsageSource } from './usage-report.js';

/** Where Redis failures are reported (the process's RedisHealth fits). */
export interface UsageRedisHealth {
  failure(operation: 'command', err: unknown): void;
  success(): void;
}

/** What the accountant is built from. */
export interface UsageAccountantOptions {
  store: Pick<EntitlementStore, 'addUsage' | 'usage'>;
  logger: Logger;
  /** The process's Redis command connection and key prefix; absent: no live view. */
  redis?: { commands: Redis; prefix: string; health?: UsageRedisHealth };
  /** Store flush period (default 60 s). */
  flushIntervalMs?: number;
  /** Live-view push period (default 5 s). */
  liveIntervalMs?: number;
  /** Milliseconds since the epoch (default Date.now). */
  clock?: () => number;
  /** Called on each failed store write (for the store-error metric). */
  onStoreError?: (err: unknown) => void;
}

/** Rows and where they came from. */
export interface UsageAnswer {
  source: UsageSource;
  rows: UsageRow[];
}

/** Counts usage, flushes it to the store, and answers reports. Implements RelayObserver's UsageSink. */
export class UsageAccountant {
  readonly #store: UsageAccountantOptions['store'];
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #options: UsageAccountantOptions;
  readonly #view: RedisUsageView | undefined;
  readonly #pending = new UsageLedger();
  readonly #live = new UsageLedger();
  #timers: NodeJS.Timeout[] = [];
  #flushChain: Promise<boolean> = Promise.resolve(true);
  #liveChain: Promise<boolean> = Promise.resolve(true);
  #storeFailing = false;
  #closed = false;

  constructor(options: UsageAccountantOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'usage' });
    this.#clock = options.clock ?? Date.now;
    this.#view =
      options.redis === undefined
        ? undefined
        : new RedisUsageView(options.redis.commands, options.redis.prefix);
  }

  /** True when a Redis live view is configured. */
  get hasLiveView(): boolean {
    return this.#view !== undefined;
  }

  /** Counts `bytes` relayed for `tenant` at `atMs` (both directions, payload bytes). */
  addTraffic(tenant: string, bytes: number, atMs: number): void {
    if (!(bytes > 0) || this.#closed) return;
    const day = jstDateOf(new Date(atMs));
    this.#pending.addBytes(day, tenant, bytes);
    if (this.#view) this.#live.addBytes(day, tenant, bytes);
  }

  /** Counts `seconds` of allocation time that ended at `atMs`, split across JST days. */
  addAllocationTime(tenant: string, seconds: number, atMs: number): void {
    if (!(seconds > 0) || this.#closed) return;
    for (const share of secondsByJstDay(atMs - seconds * 1000, atMs)) {
      this.#pending.addSeconds(share.day, tenant, share.seconds);
      if (this.#view) this.#live.addSeconds(share.day, tenant, share.seconds);
    }
  }

  /** Starts the periodic flush and live push (timers do not keep the process alive). */
  start(): void {
    if (this.#timers.length > 0 || this.#closed) return;
    const flush = setInterval(() => void this.flush(), this.#options.flushIntervalMs ?? 60_000);
    flush.unref();
    this.#timers.push(flush);
    if (this.#view) {
      const live = setInterval(() => void this.pushLive(), this.#options.liveIntervalMs ?? 5_000);
      live.unref();
      this.#timers.push(live);
    }
  }

  #today(): JstDate {
    return jstDateOf(new Date(this.#clock()));
  }

  /**
   * Adds this node's counts since the last flush to the store; resolves false (and keeps them
   * for the next flush) when the store refuses. Flushes run one at a time.
   */
  flush(final = false): Promise<boolean> {
    this.#flushChain = this.#flushChain.then(async () => {
      const rows = this.#pending.take(final ? { final } : { closeBefore: this.#today() });
      if (rows.length === 0) return true;
      try {
        await this.#store.addUsage(rows);
        if (this.#storeFailing) this.#log.info('usage written to the store again', { rows: rows.length });
        this.#storeFailing = false;
        return true;
      } catch (err) {
        this.#pending.restore(rows);
        this.#options.onStoreError?.(err);
        if (!this.#storeFailing) {
          this.#log.warn('usage flush failed: counts kept for the next flush', {
            rows: rows.length,
            error: err instanceof Error ? err.message : String(err),
          });
        }
        this.#storeFailing = true;
        return false;
      }
    });
    return this.#flushChain;
  }

  /** Pushes counts to the Redis live view; false (counts kept) when Redis fails or is absent. */
  pushLive(final = false): Promise<boolean> {
    const view = this.#view;
    if (view === undefined) return Promise.resolve(false);
    this.#liveChain = this.#liveChain.then(async () => {
      const rows = this.#live.take(final ? { final } : { closeBefore: this.#today() });
      if (rows.length === 0) return true;
      try {
        await view.add(rows);
        this.#options.redis?.health?.success();
        return true;
      } catch (err) {
        if (!final) this.#live.restore(rows);
        this.#options.redis?.health?.failure('command', err);
        return false;
      }
    });
    return this.#liveChain;
  }

  /**
   * Usage of `from..to`. 'store' flushes this node first, so a single node (embedded mode)
   * answers exactly; other nodes' last minute is still on its way. 'live' also reads the
   * fleet's Redis view and keeps the larger of each counter; without Redis, or when it fails,
   * the answer is the store's and says so.
   */
  async report(from: JstDate, to: JstDate, source: UsageSource): Promise<UsageAnswer> {
    await this.flush();
    const stored = await this.#store.usage(from, to);
    if (source === 'store' || this.#view === undefined) return { source: 'store', rows: stored };
    try {
      await this.pushLive();
      const live = await this.#view.read(from, to);
      this.#options.redis?.health?.success();
      return { source: 'live', rows: mergeUsageMax(stored, live) };
    } catch (err) {
      this.#options.redis?.health?.failure('command', err);
      return { source: 'store', rows: stored };
    }
  }

  /** Stops the timers and writes what is left (fractions rounded). Call after the relay closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.pushLive(true);
    const ok = await this.flush(true);
    if (!ok) this.#log.error('usage lost at shutdown: the store refused the last flush');
  }
}
