// Builds the entitlement layer for one process: Redis-backed when REDIS_URL is set (shared L2
// cache, fleet-wide tenant bus), in-process otherwise. The composition root calls this once and
// hands the parts to the HTTP app and the relay's authorize hook.
import type { Logger } from '../../log/logger.js';
import { type EntitlementCacheMetrics, noCacheMetrics } from '../cache/cache-metrics.js';
import type { CachePolicy } from '../cache/cached-entitlement.js';
import type { Clock } from '../cache/clock.js';
import { LicenseKeyCache } from '../cache/license-key-cache.js';
import { LocalTenantEvents } from '../cache/local-tenant-events.js';
import {
  openRedis,
  type RedisConnectionOptions,
  type RedisConnections,
  waitForRedisReady,
} from '../cache/redis-connection.js';
import { RedisEntitlementCache } from '../cache/redis-entitlement-cache.js';
import { RedisHealth } from '../cache/redis-health.js';
import { RedisTenantEvents } from '../cache/redis-tenant-events.js';
import type { TenantEvents } from '../cache/tenant-events.js';
import type { EntitlementStore } from '../store/store.js';
import { EntitlementService } from './entitlement-service.js';

/** Default prefix of every Redis key and channel. */
export const DEFAULT_REDIS_PREFIX = 'icegate:';

/** What the layer is built from. */
export interface EntitlementRuntimeOptions {
  store: Pick<EntitlementStore, 'orderHistory' | 'getKey'>;
  logger: Logger;
  /** REDIS_URL; absent: in-process cache and bus. */
  redisUrl?: string;
  /** Prefix of Redis keys and channels (default 'icegate:'); tests use one per test. */
  redisPrefix?: string;
  redisOptions?: RedisConnectionOptions;
  metrics?: EntitlementCacheMetrics;
  clock?: Clock;
  /** SUPPORT_GRACE_DAYS. */
  graceDays?: number;
  policy?: Partial<CachePolicy>;
  /** Life of a cached license key (default 60 s). */
  keyTtlMs?: number;
}

/** The entitlement layer of one process. */
export interface EntitlementRuntime {
  service: EntitlementService;
  keys: LicenseKeyCache;
  events: TenantEvents;
  /** Shared by every Redis user of the process, so an outage is logged once. */
  redisHealth: RedisHealth;
  /** The Redis connections, when configured (the HTTP rate limiter shares `commands`). */
  redis?: RedisConnections;
  /** The prefix of Redis keys and channels in use. */
  redisPrefix: string;
  /**
   * Resolves true once Redis answers commands and the bus is subscribed (at once without
   * Redis), false after `timeoutMs`. Await it before marking the process ready, so the first
   * requests do not race the connection; a false answer means "running on the store alone".
   */
  waitForRedis(timeoutMs?: number): Promise<boolean>;
  /** Stops listening and closes Redis connections; the store is the caller's to close. */
  close(): Promise<void>;
}

/** Wires cache, bus and service for one process. */
export function createEntitlementRuntime(options: EntitlementRuntimeOptions): EntitlementRuntime {
  const logger = options.logger.child({ component: 'entitlement' });
  const metrics = options.metrics ?? noCacheMetrics;
  const redisHealth = new RedisHealth(options.logger.child({ component: 'redis' }), metrics);
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const redis =
    options.redisUrl === undefined
      ? undefined
      : openRedis(options.redisUrl, redisHealth, options.redisOptions);
  const events: TenantEvents =
    redis === undefined
      ? new LocalTenantEvents(logger)
      : new RedisTenantEvents({
          commands: redis.commands,
          subscriber: redis.subscriber,
          health: redisHealth,
          logger,
          prefix: redisPrefix,
        });
  const common = { logger, metrics, ...(options.clock ? { clock: options.clock } : {}) };
  const service = new EntitlementService({
    ...common,
    store: options.store,
    events,
    ...(redis ? { redisCache: new RedisEntitlementCache(redis.commands, redisHealth, redisPrefix) } : {}),
    ...(options.graceDays !== undefined ? { graceDays: options.graceDays } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
  });
  const keys = new LicenseKeyCache({
    ...common,
    store: options.store,
    events,
    ...(options.keyTtlMs !== undefined ? { ttlMs: options.keyTtlMs } : {}),
  });
  const runtime: EntitlementRuntime = {
    service,
    keys,
    events,
    redisHealth,
    redisPrefix,
    async waitForRedis(timeoutMs = 2_000) {
      if (redis === undefined) return true;
      const deadline = Date.now() + timeoutMs;
      try {
        await waitForRedisReady(redis.commands, timeoutMs);
        while (!events.connected) {
          if (Date.now() >= deadline) return false;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      service.close();
      keys.close();
      await events.close();
      await redis?.close();
    },
  };
  if (redis) runtime.redis = redis;
  return runtime;
}
