// Fixed windows counted in Redis, so a limit holds across replicas: each hit is an INCR, the key
// expiring with its window (set atomically with the first count by a Lua script). When Redis
// fails the request is counted in-process instead: limits stay on (per node) and the failure is
// counted and logged through RedisHealth; it never fails open silently.
//
// The hits of one event-loop turn leave together: `hit` and `hitBoth` queue their counts and the
// queue is sent as one script call from setImmediate, at the end of the turn that handled the
// requests. Under load a turn handles many requests, and a Redis command through ioredis costs
// more CPU than the rest of a credential request (issue 19: two script calls per request made
// the Redis-backed route 0.73-0.84x a bare Express route). Redis runs the queue's counts in the
// order they were made, so each gets the count one call per hit would have given it. One Redis
// server holds every key (openRedis connects to one server; a Redis Cluster would refuse a script
// over keys of several slots).
import type { Redis } from 'ioredis';
import type { RedisHealth } from '../../entitlement/cache/redis-health.js';
import { RedisScript } from '../../entitlement/cache/redis-script.js';
import {
  MemoryRateLimiter,
  type RateDecision,
  type RateHit,
  type RateLimiter,
  type RateLimitRule,
  windowOf,
} from './rate-limiter.js';

// KEYS[i] is counted (INCR) unless ARGV[3i-1] names an earlier count j (1-based) that is 0 (not
// counted) or above ARGV[3i]; a key its count made expires after ARGV[3i-2] ms. Returns the
// counts in the order of KEYS, 0 for one not counted.
const HIT_SCRIPT = `
local counts = {}
for i = 1, #KEYS do
  local after = tonumber(ARGV[3 * i - 1])
  if after == 0 or (counts[after] > 0 and counts[after] <= tonumber(ARGV[3 * i])) then
    local n = redis.call('INCR', KEYS[i])
    if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3 * i - 2]) end
    counts[i] = n
  else
    counts[i] = 0
  end
end
return counts`;
const HIT = new RedisScript(HIT_SCRIPT);

/** Most counts in one script call; a longer queue is sent as several calls. */
export const MAX_HITS_PER_CALL = 256;

/** One count in the queue. */
interface QueuedHit {
  hit: RateHit;
  redisKey: string;
  now: number;
  resetAt: number;
  /** The count this one depends on (hitBoth's first): counted only if that one was allowed. */
  after: QueuedHit | undefined;
  /** Its place in the call that sent it, from 1; set when sent. */
  index: number;
  /** Its count once known; 0 when not counted. */
  count: number;
  done(decision: RateDecision | undefined): void;
}

/** Redis fixed windows, counted in one script call per event-loop turn, with an in-process fallback. */
export class RedisRateLimiter implements RateLimiter {
  readonly #fallback = new MemoryRateLimiter();
  #queue: QueuedHit[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly health: RedisHealth,
    /** Prefix of every key of this deployment, e.g. 'icegate:'. */
    private readonly prefix: string,
  ) {}

  hit(scope: string, key: string, rule: RateLimitRule, now: number): Promise<RateDecision> {
    return new Promise((resolve) => {
      this.#enqueue({ scope, key, rule }, now, undefined, resolve as (d: RateDecision | undefined) => void);
    });
  }

  hitBoth(first: RateHit, then: RateHit, now: number): Promise<[RateDecision, RateDecision | undefined]> {
    return new Promise((resolve) => {
      let firstDecision: RateDecision | undefined;
      const queued = this.#enqueue(first, now, undefined, (d) => {
        firstDecision = d;
      });
      // Settled after `first` (the queue is answered in order), so firstDecision is known.
      this.#enqueue(then, now, queued, (d) => resolve([firstDecision as RateDecision, d]));
    });
  }

  #enqueue(
    hit: RateHit,
    now: number,
    after: QueuedHit | undefined,
    done: (decision: RateDecision | undefined) => void,
  ): QueuedHit {
    const { index, resetAt } = windowOf(hit.rule, now);
    const redisKey = `${this.prefix}ratelimit:${hit.scope}:${hit.rule.windowMs}:${index}:${hit.key}`;
    const queued: QueuedHit = { hit, redisKey, now, resetAt, after, index: 0, count: 0, done };
    if (this.#queue.length === 0) setImmediate(() => this.#flush());
    this.#queue.push(queued);
    return queued;
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    // A count and the one that depends on it go in the same call.
    let start = 0;
    while (start < queue.length) {
      let end = Math.min(start + MAX_HITS_PER_CALL, queue.length);
      if (end < queue.length && queue[end]?.after !== undefined) end -= 1;
      void this.#send(queue.slice(start, end));
      start = end;
    }
  }

  async #send(batch: QueuedHit[]): Promise<void> {
    const keys: string[] = [];
    const args: string[] = [];
    for (const [i, q] of batch.entries()) {
      q.index = i + 1;
      keys.push(q.redisKey);
      // A little slack past the window end covers clock differences between nodes.
      args.push(
        String(q.hit.rule.windowMs + 5_000),
        String(q.after?.index ?? 0),
        String(q.after?.hit.rule.limit ?? 0),
      );
    }
    let counts: unknown;
    try {
      counts = await HIT.run(this.redis, keys, args);
      if (!Array.isArray(counts) || counts.length !== batch.length) {
        throw new Error(`rate-limit script answered ${JSON.stringify(counts)} for ${batch.length} counts`);
      }
    } catch (err) {
      this.health.failure('command', err);
      for (const q of batch) this.#countInProcess(q);
      return;
    }
    this.health.success();
    for (const [i, q] of batch.entries()) {
      q.count = Number(counts[i]);
      q.done(q.count === 0 ? undefined : decisionOf(q, q.count));
    }
  }

  /** Redis failed: the same count, in this process. */
  #countInProcess(q: QueuedHit): void {
    if (q.after !== undefined && (q.after.count === 0 || q.after.count > q.after.hit.rule.limit)) {
      q.done(undefined);
      return;
    }
    const decision = this.#fallback.hitNow(q.hit.scope, q.hit.key, q.hit.rule, q.now);
    q.count = decision.count;
    q.done(decision);
  }
}

function decisionOf(q: QueuedHit, count: number): RateDecision {
  return { allowed: count <= q.hit.rule.limit, count, limit: q.hit.rule.limit, resetAt: q.resetAt };
}
