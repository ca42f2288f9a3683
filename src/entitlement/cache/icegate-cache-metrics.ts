// Adapts the process metrics registry (src/metrics) to the entitlement layer's narrow interface.
import type { IcegateMetrics } from '../../metrics/metrics.js';
import { seriesByKey } from '../../metrics/typed-metric.js';
import type { CacheLookupResult, EntitlementCacheMetrics } from './cache-metrics.js';

/** Counts entitlement cache lookups, store errors (for `backend`) and Redis errors in `metrics`. */
export function cacheMetricsFrom(
  metrics: IcegateMetrics,
  backend: 'postgres' | 'file',
): EntitlementCacheMetrics {
  // Every TURN Allocate and Refresh looks its tenant up: a bound series per result, made once.
  const lookups = seriesByKey((result: CacheLookupResult) =>
    metrics.entitlementCacheLookups.bound({ result }),
  );
  return {
    cacheLookup: (result) => lookups(result).inc(),
    storeError: (operation) => metrics.storeErrors.inc({ backend, operation }),
    redisError: (operation) => metrics.redisErrors.inc({ operation }),
  };
}
