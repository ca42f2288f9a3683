// "Is tenant T entitled now, with how many licenses, until when" (DESIGN.md, entitlement/),
// answered from a two-level cache over the store and the pure support rules:
//   L1 in-process map -> L2 Redis (when configured) -> one store query per tenant at a time.
// Freshness: an answer lives at most maxTtl (negative answers negativeTtl) and never past the
// tenant's next state change (rules' nextChangeAt). Invalidation: every TenantEvents change
// drops the tenant here and in Redis. Failure: with the store unreachable an answer is served
// until its stale deadline (never past the next change either), then EntitlementUnavailable.
import type { Logger } from '../../log/logger.js';
import {
  type CacheLookupResult,
  type EntitlementCacheMetrics,
  noCacheMetrics,
} from '../cache/cache-metrics.js';
import {
  type CachedEntitlement,
  type CachePolicy,
  cacheEntryFor,
  DEFAULT_CACHE_POLICY,
} from '../cache/cached-entitlement.js';
import { type Clock, systemClock } from '../cache/clock.js';
import { ExpiringMap } from '../cache/expiring-map.js';
import type { RedisEntitlementCache } from '../cache/redis-entitlement-cache.js';
import type { TenantEvents } from '../cache/tenant-events.js';
import { entitlementAt, nextChangeAt } from '../rules/index.js';
import type { EntitlementStore } from '../store/store.js';
import type { Entitlement, OrderHistory } from '../types.js';
import { EntitlementUnavailable } from './errors.js';
import { SingleFlight } from './single-flight.js';

/** An entitlement with the instant until which it may be relied on without asking again. */
export type EntitlementAnswer = Entitlement & { expiresAt: Date };

/** What the service is built from. */
export interface EntitlementServiceOptions {
  /** Only `orderHistory` is read. */
  store: Pick<EntitlementStore, 'orderHistory'>;
  /** Changes heard here drop the tenant's cached answers. */
  events: TenantEvents;
  /** The shared L2 cache; absent without Redis. */
  redisCache?: RedisEntitlementCache;
  logger: Logger;
  metrics?: EntitlementCacheMetrics;
  clock?: Clock;
  /** SUPPORT_GRACE_DAYS. */
  graceDays?: number;
  policy?: Partial<CachePolicy>;
  /**
   * While `events` is disconnected, changes from other nodes may be missed, so in-process
   * answers older than this are asked again (default 5 s).
   */
  maxAgeWhileDisconnectedMs?: number;
  /** Bound of the in-process cache (default 10,000 tenants). */
  memoryEntries?: number;
  /** After a store failure, lookups skip the store for this long (default 1 s). */
  storeRetryMs?: number;
}

/** Cached, fail-closed entitlement lookups for the gate and the relay. */
export class EntitlementService {
  readonly #store: Pick<EntitlementStore, 'orderHistory'>;
  readonly #events: TenantEvents;
  readonly #redis: RedisEntitlementCache | undefined;
  readonly #logger: Logger;
  readonly #metrics: EntitlementCacheMetrics;
  readonly #clock: Clock;
  readonly #graceDays: number;
  readonly #policy: CachePolicy;
  readonly #maxAgeDisconnected: number;
  readonly #memory: ExpiringMap<CachedEntitlement>;
  readonly #flights = new SingleFlight<EntitlementAnswer>();
  /** peek's answer for each cached entry, made once. */
  readonly #freshViews = new WeakMap<CachedEntitlement, Readonly<EntitlementAnswer>>();
  readonly #unsubscribe: (() => void)[];
  // Bumped by every invalidation: a load that started before one must not write its answer back.
  #epoch = 0;
  #storeDown = false;
  #storeRetryAt = 0;
  readonly #storeRetryMs: number;

  constructor(options: EntitlementServiceOptions) {
    this.#store = options.store;
    this.#events = options.events;
    this.#redis = options.redisCache;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? noCacheMetrics;
    this.#clock = options.clock ?? systemClock;
    this.#graceDays = options.graceDays ?? 0;
    this.#policy = { ...DEFAULT_CACHE_POLICY, ...options.policy };
    this.#maxAgeDisconnected = options.maxAgeWhileDisconnectedMs ?? 5_000;
    this.#memory = new ExpiringMap(options.memoryEntries ?? 10_000);
    this.#storeRetryMs = options.storeRetryMs ?? 1_000;
    this.#unsubscribe = [
      this.#events.subscribe((change) => {
        void this.invalidate(change.tenant);
      }),
      this.#events.onResync(() => this.clearLocal()),
    ];
  }

  /**
   * The tenant's entitlement at `now` (default: the clock). Throws EntitlementUnavailable when
   * the store is unreachable and no cached answer is young enough.
   */
  async get(tenant: string, now?: Date | number): Promise<EntitlementAnswer> {
    const at = now === undefined ? this.#clock() : typeof now === 'number' ? now : now.getTime();
    const local = this.#memory.get(tenant, at);
    if (local !== undefined && this.#isFreshLocally(local, at)) return this.#answer(local, at, 'hit');
    return this.#flights.run(tenant, () => this.#load(tenant, at, local));
  }

  /**
   * What `get` would answer at once from the in-process cache (counted as a hit, as `get`
   * counts it), or undefined when `get` would have to ask Redis or the store. Lets a caller
   * decide synchronously in the common case. The answer is shared by every peek of the same
   * cached entry (frozen: read it, do not change it), so a hit allocates nothing.
   */
  peek(tenant: string, now?: Date | number): Readonly<EntitlementAnswer> | undefined {
    const at = now === undefined ? this.#clock() : typeof now === 'number' ? now : now.getTime();
    const local = this.#memory.get(tenant, at);
    if (local === undefined || !this.#isFreshLocally(local, at)) return undefined;
    this.#metrics.cacheLookup(local.entitlement.active ? 'hit' : 'negative_hit');
    let view = this.#freshViews.get(local);
    if (view === undefined) {
      // Fresh, so `get` would give freshUntil as the deadline too.
      view = Object.freeze(this.#view(local, local.freshUntil));
      this.#freshViews.set(local, view);
    }
    return view;
  }

  /** Drops the tenant's answers here and in Redis; the next lookup asks the store. */
  async invalidate(tenant: string): Promise<void> {
    this.#epoch++;
    this.#memory.delete(tenant);
    this.#flights.forget(tenant);
    await this.#redis?.delete(tenant);
  }

  /** Drops every in-process answer (after missed fleet changes). */
  clearLocal(): void {
    this.#epoch++;
    this.#memory.clear();
    this.#flights.forgetAll();
  }

  /** Stops listening to tenant changes. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }

  #isFreshLocally(entry: CachedEntitlement, at: number): boolean {
    if (at >= entry.freshUntil) return false;
    return this.#events.connected || at - entry.fetchedAt < this.#maxAgeDisconnected;
  }

  async #load(tenant: string, at: number, local: CachedEntitlement | undefined): Promise<EntitlementAnswer> {
    const epoch = this.#epoch;
    const shared = await this.#redis?.get(tenant);
    if (shared !== undefined && at < shared.freshUntil) {
      if (epoch === this.#epoch) this.#memory.set(tenant, shared, shared.staleUntil);
      return this.#answer(shared, at, 'hit');
    }

    let entry: CachedEntitlement;
    try {
      // Right after a failure, skip the store for a moment: a dead database must not make
      // every request wait for its connection timeout.
      if (this.#storeDown && this.#clock() < this.#storeRetryAt) throw new StoreSkipped();
      const history = await this.#store.orderHistory(tenant);
      this.#storeRecovered();
      entry = this.#compute(tenant, history, at);
    } catch (err) {
      if (!(err instanceof RulesFailure) && !(err instanceof StoreSkipped)) this.#storeFailed(err);
      const fallback = [local, shared]
        .filter((e): e is CachedEntitlement => e !== undefined && at < e.staleUntil)
        .sort((a, b) => b.fetchedAt - a.fetchedAt)[0];
      if (fallback !== undefined) {
        this.#metrics.cacheLookup('stale');
        return this.#view(fallback, fallback.staleUntil);
      }
      throw new EntitlementUnavailable(`the entitlement of tenant ${tenant}`, {
        cause: err instanceof RulesFailure ? err.cause : err,
      });
    }

    if (epoch === this.#epoch) {
      this.#memory.set(tenant, entry, entry.staleUntil);
      await this.#redis?.set(tenant, entry, at);
    }
    return this.#answer(entry, at, 'miss');
  }

  #compute(tenant: string, history: OrderHistory | null, at: number): CachedEntitlement {
    const instant = new Date(at);
    try {
      if (history === null) {
        const unknown: Entitlement = { tenant, active: false, state: 'unknown', licenses: 0, until: null };
        return cacheEntryFor(unknown, at, null, this.#policy);
      }
      const options = { graceDays: this.#graceDays };
      const entitlement = entitlementAt(history, instant, options);
      return cacheEntryFor(entitlement, at, nextChangeAt(history, instant, options), this.#policy);
    } catch (err) {
      // A stored history the rules refuse is a data bug, not an outage: fail closed, loudly.
      this.#logger.error('support rules failed on a stored order history', {
        tenant,
        error: err instanceof Error ? err.message : String(err),
      });
      throw new RulesFailure(err);
    }
  }

  #answer(entry: CachedEntitlement, at: number, result: 'hit' | 'miss'): EntitlementAnswer {
    const counted: CacheLookupResult =
      result === 'hit' && !entry.entitlement.active ? 'negative_hit' : result;
    this.#metrics.cacheLookup(counted);
    return this.#view(entry, entry.freshUntil > at ? entry.freshUntil : entry.staleUntil);
  }

  #view(entry: CachedEntitlement, expiresAt: number): EntitlementAnswer {
    return { ...entry.entitlement, expiresAt: new Date(expiresAt) };
  }

  #storeFailed(err: unknown): void {
    this.#metrics.storeError('read');
    this.#storeRetryAt = this.#clock() + this.#storeRetryMs;
    if (this.#storeDown) return;
    this.#storeDown = true;
    this.#logger.warn('entitlement store unreachable: serving cached answers until they are stale', {
      error: err instanceof Error ? err.message : String(err),
    });
  }

  #storeRecovered(): void {
    if (!this.#storeDown) return;
    this.#storeDown = false;
    this.#logger.info('entitlement store reachable again');
  }
}

/** The store was not asked because it failed moments ago. */
class StoreSkipped extends Error {
  constructor() {
    super('entitlement store failed moments ago; not asked again yet');
  }
}

/** Wraps an error of the rules so it is not counted as a store outage. */
class RulesFailure extends Error {
  constructor(cause: unknown) {
    super('support rules failed', { cause });
  }
}
