// Fixed windows counted in Redis, so a limit holds across replicas: each key's count is an
// INCRBY, the key expiring with its window (set atomically with the first count by a Lua script).
// When Redis fails the request is counted in-process instead: limits stay on (per node) and the
// failure is counted and logged through RedisHealth; it never fails open silently.
//
// The counts of one event-loop turn leave together: `hit` queues its key and the queue is sent
// as one script call from setImmediate, at the end of the turn that handled the requests. Under
// load a turn handles many requests (50 keep-alive connections give about ten per turn here),
// and a Redis command through ioredis costs more CPU than the rest of a credential request
// (issue 19: two script calls per request made the Redis-backed route 0.73-0.84x a bare Express
// route). The counting is the same as one call per request: a key hit k times in a batch is
// raised by k at once and its hits get the k counts that end at the new value, in the order
// they were made. One Redis server holds every key (openRedis connects to one server; a Redis
// Cluster would refuse a script over keys of several slots).
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

// KEYS[i] is raised by ARGV[2i] and, when that made it (it did not exist), expires after
// ARGV[2i-1] ms. Returns the new counts, in the order of KEYS.
const HIT_SCRIPT = `
local counts = {}
for i = 1, #KEYS do
  local by = tonumber(ARGV[2 * i])
  local n = redis.call('INCRBY', KEYS[i], by)
  if n == by then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i - 1]) end
  counts[i] = n
end
return counts`;
const HIT = new RedisScript(HIT_SCRIPT);

/** Most keys in one script call; a longer queue is sent as several calls. */
export const MAX_KEYS_PER_CALL = 256;

/** One request waiting for its count. */
interface Waiter {
  scope: string;
  key: string;
  rule: RateLimitRule;
  now: number;
  resetAt: number;
  resolve(decision: RateDecision): void;
}

/** The hits of one Redis key in the queue. */
interface Pending {
  ttlMs: number;
  waiters: Waiter[];
}

/** Redis fixed windows, counted in one script call per event-loop turn, with an in-process fallback. */
export class RedisRateLimiter implements RateLimiter {
  readonly #fallback = new MemoryRateLimiter();
  #queue = new Map<string, Pending>();
  #flushScheduled = false;

  constructor(
    private readonly redis: Redis,
    private readonly health: RedisHealth,
    /** Prefix of every key of this deployment, e.g. 'icegate:'. */
    private readonly prefix: string,
  ) {}

  hit(scope: string, key: string, rule: RateLimitRule, now: number): Promise<RateDecision> {
    const { index, resetAt } = windowOf(rule, now);
    const redisKey = `${this.prefix}ratelimit:${scope}:${rule.windowMs}:${index}:${key}`;
    return new Promise((resolve) => {
      const waiter: Waiter = { scope, key, rule, now, resetAt, resolve };
      const pending = this.#queue.get(redisKey);
      // A little slack past the window end covers clock differences between nodes.
      if (pending === undefined)
        this.#queue.set(redisKey, { ttlMs: rule.windowMs + 5_000, waiters: [waiter] });
      else pending.waiters.push(waiter);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = new Map();
    this.#flushScheduled = false;
    let batch: Array<[string, Pending]> = [];
    for (const entry of queue) {
      batch.push(entry);
      if (batch.length === MAX_KEYS_PER_CALL) {
        void this.#send(batch);
        batch = [];
      }
    }
    if (batch.length > 0) void this.#send(batch);
  }

  async #send(batch: Array<[string, Pending]>): Promise<void> {
    const keys: string[] = [];
    const args: string[] = [];
    for (const [redisKey, pending] of batch) {
      keys.push(redisKey);
      args.push(String(pending.ttlMs), String(pending.waiters.length));
    }
    let counts: unknown;
    try {
      counts = await HIT.run(this.redis, keys, args);
      if (!Array.isArray(counts) || counts.length !== batch.length) {
        throw new Error(`rate-limit script answered ${JSON.stringify(counts)} for ${batch.length} keys`);
      }
    } catch (err) {
      this.health.failure('command', err);
      for (const [, pending] of batch) {
        for (const w of pending.waiters) w.resolve(this.#fallback.hitNow(w.scope, w.key, w.rule, w.now));
      }
      return;
    }
    this.health.success();
    for (let i = 0; i < batch.length; i++) {
      const waiters = (batch[i] as [string, Pending])[1].waiters;
      // The key now holds `last`; its hits in this batch took the counts up to it, in order.
      const first = Number(counts[i]) - waiters.length + 1;
      for (let j = 0; j < waiters.length; j++) {
        const w = waiters[j] as Waiter;
        const count = first + j;
        w.resolve({ allowed: count <= w.rule.limit, count, limit: w.rule.limit, resetAt: w.resetAt });
      }
    }
  }
}
