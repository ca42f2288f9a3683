// Adapts the process metrics registry (src/metrics) to the entitlement layer's narrow interface.
import type { IcegateMetrics } from '../../metrics/metrics.js';
import type { EntitlementCacheMetrics } from './cache-metrics.js';

/** Counts entitlement cache lookups, store errors (for `backend`) and Redis errors in `metrics`. */
export function cacheMetricsFrom(
  metrics: IcegateMetrics,
  backend: 'postgres' | 'file',
): EntitlementCacheMetrics {
  return {
    cacheLookup: (result) => metrics.entitlementCacheLookups.inc({ result }),
    storeError: (operation) => metrics.storeErrors.inc({ backend, operation }),
    redisError: (operation) => metrics.redisErrors.inc({ operation }),
  };
}
