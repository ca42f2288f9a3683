// License-key records by key id, for tenant JWT verification on every credential request
// (the HS256 KeyObject of each key is built once by licensing's secretKeyFor). Revocation
// reaches every node through TenantEvents within a second; without the bus, entries expire
// after `ttlMs`. Unknown ids are cached briefly, so a flood of made-up ids cannot hammer the store.
import type { Logger } from '../../log/logger.js';
import { EntitlementUnavailable } from '../service/errors.js';
import { SingleFlight } from '../service/single-flight.js';
import type { EntitlementStore } from '../store/store.js';
import type { StoredKey } from '../store/stored-key.js';
import type { EntitlementCacheMetrics } from './cache-metrics.js';
import { noCacheMetrics } from './cache-metrics.js';
import { type Clock, systemClock } from './clock.js';
import { ExpiringMap } from './expiring-map.js';
import type { TenantEvents } from './tenant-events.js';

interface Slot {
  key: StoredKey | null;
  fetchedAt: number;
  freshUntil: number;
}

/** Options of the key cache. */
export interface LicenseKeyCacheOptions {
  store: Pick<EntitlementStore, 'getKey'>;
  events: TenantEvents;
  logger: Logger;
  metrics?: EntitlementCacheMetrics;
  clock?: Clock;
  /** Life of a found key (default 60 s). */
  ttlMs?: number;
  /** Life of an unknown id (default 5 s). */
  negativeTtlMs?: number;
  /** How long past its life a key may serve while the store is unreachable (default 5 min). */
  staleIfErrorMs?: number;
  /** While `events` is disconnected, entries older than this are fetched again (default 5 s). */
  maxAgeWhileDisconnectedMs?: number;
  /** Bound of the cache (default 10,000). */
  capacity?: number;
}

/** Key records by id, dropped on every change to their tenant. */
export class LicenseKeyCache {
  readonly #options: LicenseKeyCacheOptions;
  readonly #clock: Clock;
  readonly #metrics: EntitlementCacheMetrics;
  readonly #slots: ExpiringMap<Slot>;
  readonly #flights = new SingleFlight<StoredKey | null>();
  readonly #unsubscribe: (() => void)[];
  #epoch = 0;
  #storeDown = false;

  constructor(options: LicenseKeyCacheOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? noCacheMetrics;
    this.#slots = new ExpiringMap(options.capacity ?? 10_000);
    this.#unsubscribe = [
      options.events.subscribe((change) => {
        if (change.keyId !== undefined) this.invalidateKey(change.keyId);
        this.invalidateTenant(change.tenant);
      }),
      options.events.onResync(() => this.clear()),
    ];
  }

  /**
   * The key with this id (revoked ones included: the caller says `license_revoked`), or null
   * when no key has it. Throws EntitlementUnavailable when the store is unreachable and the
   * id was not seen recently enough.
   */
  async lookup(keyId: string): Promise<StoredKey | null> {
    const now = this.#clock();
    const slot = this.#slots.get(keyId, now);
    if (slot !== undefined && this.#fresh(slot, now)) return slot.key;
    return this.#flights.run(keyId, () => this.#load(keyId, now, slot));
  }

  /**
   * What `lookup` would answer at once from memory (null: no key has this id), or undefined when
   * `lookup` would have to ask the store.
   */
  peek(keyId: string): StoredKey | null | undefined {
    const now = this.#clock();
    const slot = this.#slots.get(keyId, now);
    return slot !== undefined && this.#fresh(slot, now) ? slot.key : undefined;
  }

  /** Drops one key id. */
  invalidateKey(keyId: string): void {
    this.#epoch++;
    this.#slots.delete(keyId);
    this.#flights.forget(keyId);
  }

  /** Drops every key of a tenant (and unknown ids, which may just have been issued). */
  invalidateTenant(tenant: string): void {
    this.#epoch++;
    this.#slots.deleteWhere((slot) => slot.key === null || slot.key.tenant === tenant);
    this.#flights.forgetAll();
  }

  /** Drops everything. */
  clear(): void {
    this.#epoch++;
    this.#slots.clear();
    this.#flights.forgetAll();
  }

  /** Stops listening to tenant changes. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }

  #fresh(slot: Slot, now: number): boolean {
    if (now >= slot.freshUntil) return false;
    const maxAge = this.#options.maxAgeWhileDisconnectedMs ?? 5_000;
    return this.#options.events.connected || now - slot.fetchedAt < maxAge;
  }

  async #load(keyId: string, now: number, previous: Slot | undefined): Promise<StoredKey | null> {
    const epoch = this.#epoch;
    let record: StoredKey | null;
    try {
      record = await this.#options.store.getKey(keyId);
    } catch (err) {
      this.#metrics.storeError('read');
      if (!this.#storeDown) {
        this.#storeDown = true;
        this.#options.logger.warn(
          'license key lookups fail: store unreachable; serving cached keys until stale',
          {
            error: err instanceof Error ? err.message : String(err),
          },
        );
      }
      // `previous` is only still held while within its stale deadline (the map's own deadline).
      if (previous !== undefined) return previous.key;
      throw new EntitlementUnavailable(`license key ${keyId}`, { cause: err });
    }
    if (this.#storeDown) {
      this.#storeDown = false;
      this.#options.logger.info('license key lookups reach the store again');
    }
    const key = record;
    const ttl = key === null ? (this.#options.negativeTtlMs ?? 5_000) : (this.#options.ttlMs ?? 60_000);
    const slot: Slot = { key, fetchedAt: now, freshUntil: now + ttl };
    if (epoch === this.#epoch) {
      this.#slots.set(keyId, slot, slot.freshUntil + (this.#options.staleIfErrorMs ?? 300_000));
    }
    return key;
  }
}
