// Picks the limiter of a process: shared through Redis when the entitlement layer has Redis
// connections, in-process otherwise.
import type { RedisConnections } from '../../entitlement/cache/redis-connection.js';
import type { RedisHealth } from '../../entitlement/cache/redis-health.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

/** A RedisRateLimiter over `runtime.redis` when present, else a MemoryRateLimiter. */
export function rateLimiterFor(runtime: {
  redis?: RedisConnections;
  redisHealth: RedisHealth;
  redisPrefix: string;
}): RateLimiter {
  if (runtime.redis === undefined) return new MemoryRateLimiter();
  return new RedisRateLimiter(runtime.redis.commands, runtime.redisHealth, runtime.redisPrefix);
}
