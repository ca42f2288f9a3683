// Fixed windows counted in Redis, so a limit holds across replicas: one INCR per request, the
// key expiring with its window (set atomically with the first INCR by a Lua script). When Redis
// fails the request is counted in-process instead: limits stay on (per node) and the failure is
// counted and logged through RedisHealth; it never fails open silently.
import type { Redis } from 'ioredis';
import type { RedisHealth } from '../../entitlement/cache/redis-health.js';
import { RedisScript } from '../../entitlement/cache/redis-script.js';
import {
  MemoryRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateLimitRule,
  windowOf,
} from './rate-limiter.js';

const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;
const HIT = new RedisScript(HIT_SCRIPT);

/** Redis fixed windows with an in-process fallback. */
export class RedisRateLimiter implements RateLimiter {
  readonly #fallback = new MemoryRateLimiter();

  constructor(
    private readonly redis: Redis,
    private readonly health: RedisHealth,
    /** Prefix of every key of this deployment, e.g. 'icegate:'. */
    private readonly prefix: string,
  ) {}

  async hit(scope: string, key: string, rule: RateLimitRule, now: number): Promise<RateDecision> {
    const { index, resetAt } = windowOf(rule, now);
    const redisKey = `${this.prefix}ratelimit:${scope}:${rule.windowMs}:${index}:${key}`;
    try {
      // A little slack past the window end covers clock differences between nodes.
      const count = Number(await HIT.run(this.redis, [redisKey], [String(rule.windowMs + 5_000)]));
      this.health.success();
      return { allowed: count <= rule.limit, count, limit: rule.limit, resetAt };
    } catch (err) {
      this.health.failure('command', err);
      return this.#fallback.hitNow(scope, key, rule, now);
    }
  }
}
