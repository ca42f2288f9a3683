// The few counters the entitlement layer bumps. A narrow interface, so this folder does not
// depend on the metrics registry; the composition root adapts src/metrics to it.

/** Result of one entitlement lookup, as counted in icegate_entitlement_cache_lookups_total. */
export type CacheLookupResult = 'hit' | 'miss' | 'stale' | 'negative_hit';

/** Which Redis operation failed. */
export type RedisFailure = 'connection' | 'command' | 'publish' | 'subscribe';

/** Counters of the entitlement cache, the store behind it and Redis. */
export interface EntitlementCacheMetrics {
  cacheLookup(result: CacheLookupResult): void;
  storeError(operation: 'read' | 'write'): void;
  redisError(operation: RedisFailure): void;
}

/** Metrics that count nothing, for tests and tools. */
export const noCacheMetrics: EntitlementCacheMetrics = {
  cacheLookup() {},
  storeError() {},
  redisError() {},
};
