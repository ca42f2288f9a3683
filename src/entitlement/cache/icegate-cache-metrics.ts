// Adapts the process metrics registry (src/metrics) to the entitlement layer's narrow interface.
import type { IcegateMetrics } from '../../metrics/metrics.js';
import type { CacheLookupResult, EntitlementCacheMetrics } from './cache-metrics.js';

/** Counts entitlement cache lookups, store errors (for `backend`) and Redis errors in `metrics`. */
export function cacheMetricsFrom(
  metrics: IcegateMetrics,
  backend: 'postgres' | 'file',
): EntitlementCacheMetrics {
  // Every TURN Allocate and Refresh looks its tenant up: a bound series per result, made once.
  const lookups = new Map<CacheLookupResult, { inc(): void }>();
  return {
    cacheLookup: (result) => {
      let series = lookups.get(result);
      if (series === undefined) {
        series = metrics.entitlementCacheLookups.bound({ result });
        lookups.set(result, series);
      }
      series.inc();
    },
    storeError: (operation) => metrics.storeErrors.inc({ backend, operation }),
    redisError: (operation) => metrics.redisErrors.inc({ operation }),
  };
}
