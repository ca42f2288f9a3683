// How a process builds its accountant: on the entitlement runtime's Redis connection and key
// prefix when REDIS_URL is set (one connection per process, as the cache and rate limits share).
import type { EntitlementRuntime } from '../entitlement/service/index.js';
import { UsageAccountant, type UsageAccountantOptions } from './usage-accountant.js';

/** A started accountant for this process; with Redis it keeps the fleet's live view too. */
export function usageAccountantFor(
  runtime: Pick<EntitlementRuntime, 'redis' | 'redisPrefix' | 'redisHealth'>,
  options: Omit<UsageAccountantOptions, 'redis'>,
): UsageAccountant {
  const accountant = new UsageAccountant({
    ...options,
    ...(runtime.redis === undefined
      ? {}
      : {
          redis: {
            commands: runtime.redis.commands,
            prefix: runtime.redisPrefix,
            health: runtime.redisHealth,
          },
        }),
  });
  accountant.start();
  return accountant;
}
