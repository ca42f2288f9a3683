/** The entitlement caches, the license-key cache and the fleet-wide tenant bus. */
export type { CacheLookupResult, EntitlementCacheMetrics, RedisFailure } from './cache-metrics.js';
export { noCacheMetrics } from './cache-metrics.js';
export {
  type CachedEntitlement,
  type CachePolicy,
  cacheEntryFor,
  DEFAULT_CACHE_POLICY,
  parseCachedEntitlement,
} from './cached-entitlement.js';
export { type Clock, systemClock } from './clock.js';
export { ExpiringMap } from './expiring-map.js';
export { cacheMetricsFrom } from './icegate-cache-metrics.js';
export { LicenseKeyCache, type LicenseKeyCacheOptions } from './license-key-cache.js';
export { LocalTenantEvents } from './local-tenant-events.js';
export {
  openRedis,
  type RedisConnectionOptions,
  type RedisConnections,
  waitForRedisReady,
} from './redis-connection.js';
export { RedisEntitlementCache } from './redis-entitlement-cache.js';
export { RedisHealth } from './redis-health.js';
export { RedisTenantEvents, type RedisTenantEventsOptions } from './redis-tenant-events.js';
export {
  parseTenantChange,
  TENANT_CHANGED_CHANNEL,
  type TenantChange,
  type TenantChangeKind,
  type TenantChangeListener,
  type TenantEvents,
} from './tenant-events.js';
