// The Redis rate limiter against a real Redis: the hits of one event-loop turn leave as one script
// call (issue 19), and the counts they get are the ones one call per hit would have given: in the
// order the hits were made, continuing what other nodes counted, each window's key expiring with
// it; hitBoth's second count is made only when its first is within its limit. Redis down or
// answering nonsense: every hit is still counted, in-process.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisHealth } from '../../src/entitlement/cache/redis-health.js';
import type { RateLimitRule } from '../../src/http/rate-limit/rate-limiter.js';
import { MAX_HITS_PER_CALL, RedisRateLimiter } from '../../src/http/rate-limit/redis-rate-limiter.js';
import {
  CapturingLogger,
  deleteRedisPrefix,
  requireRedis,
  TEST_REDIS_URL,
  uniquePrefix,
} from './http-harness.js';

const RULE: RateLimitRule = { limit: 3, windowMs: 60_000 };
const NOW = 1_800_000_000_000;

/** A limiter on its own connection, counting the script calls it makes and the Redis failures. */
function limiterOn(redis: Redis, prefix: string) {
  let calls = 0;
  let failures = 0;
  const evalsha = redis.evalsha.bind(redis);
  // Counts the calls only; the real Redis answers them.
  redis.evalsha = ((...args: Parameters<Redis['evalsha']>) => {
    calls++;
    return evalsha(...args);
  }) as Redis['evalsha'];
  const health = new RedisHealth(new CapturingLogger(), { redisError: () => failures++ });
  return {
    limiter: new RedisRateLimiter(redis, health, prefix),
    calls: () => calls,
    failures: () => failures,
  };
}

describe('RedisRateLimiter (real Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const open = () => {
    const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  const prefix = () => {
    const p = uniquePrefix();
    prefixes.push(p);
    return p;
  };

  beforeAll(requireRedis);
  afterAll(async () => {
    for (const p of prefixes) await deleteRedisPrefix(p);
    for (const c of clients) c.disconnect();
  });

  it('sends the hits of one turn as one script call, counting each in the order it was made', async () => {
    const { limiter, calls } = limiterOn(open(), prefix());
    const decisions = await Promise.all([
      limiter.hit('ip', '198.51.100.7', RULE, NOW),
      limiter.hit('tenant', 'acme', RULE, NOW),
      limiter.hit('ip', '198.51.100.7', RULE, NOW),
      limiter.hit('ip', '198.51.100.7', RULE, NOW),
      limiter.hit('ip', '198.51.100.7', RULE, NOW),
      limiter.hit('tenant', 'acme', RULE, NOW),
    ]);
    expect(calls()).toBe(1);
    expect(decisions.map((d) => [d.count, d.allowed])).toEqual([
      [1, true],
      [1, true],
      [2, true],
      [3, true],
      [4, false],
      [2, true],
    ]);
    expect(decisions.every((d) => d.limit === 3 && d.resetAt === NOW - (NOW % 60_000) + 60_000)).toBe(true);
    // The next turn is a new call, and its counts go on from the first.
    const later = await limiter.hit('ip', '198.51.100.7', RULE, NOW + 1);
    expect(calls()).toBe(2);
    expect([later.count, later.allowed]).toEqual([5, false]);
  });

  it('continues the counts another node made, and expires each key a little after its window', async () => {
    const p = prefix();
    const a = limiterOn(open(), p);
    const b = limiterOn(open(), p);
    await Promise.all([
      a.limiter.hit('tenant', 'acme', RULE, NOW),
      a.limiter.hit('tenant', 'acme', RULE, NOW),
    ]);
    const fromB = await b.limiter.hit('tenant', 'acme', RULE, NOW);
    expect([fromB.count, fromB.allowed]).toEqual([3, true]);
    const index = Math.floor(NOW / RULE.windowMs);
    const key = `${p}ratelimit:tenant:${RULE.windowMs}:${index}:acme`;
    const reader = open();
    expect(await reader.get(key)).toBe('3');
    const ttl = await reader.pttl(key);
    // Set once, with the first count: the window plus 5 s of slack for clocks of other nodes.
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(65_000);
    // The next window is another key, counted from 1.
    const next = await b.limiter.hit('tenant', 'acme', RULE, NOW + RULE.windowMs);
    expect(next.count).toBe(1);
  });

  it(`splits a turn of more than ${MAX_HITS_PER_CALL} counts into several calls, every count right`, async () => {
    const { limiter, calls } = limiterOn(open(), prefix());
    const keys = Array.from({ length: MAX_HITS_PER_CALL * 2 + 10 }, (_, i) => `203.0.113.${i}`);
    const first = await Promise.all(keys.map((k) => limiter.hit('ip', k, RULE, NOW)));
    expect(calls()).toBe(3);
    expect(first.every((d) => d.count === 1)).toBe(true);
    const second = await Promise.all(keys.map((k) => limiter.hit('ip', k, RULE, NOW)));
    expect(second.every((d) => d.count === 2)).toBe(true);
  });

  it('hitBoth counts the second only while the first is within its limit, in the same call', async () => {
    const p = prefix();
    const { limiter, calls } = limiterOn(open(), p);
    const ip = { scope: 'ip', key: '198.51.100.20', rule: { limit: 2, windowMs: 60_000 } };
    const tenant = { scope: 'tenant', key: 'acme', rule: RULE };
    const single = limiter.hit('tenant', 'acme', RULE, NOW);
    const pairs = await Promise.all([
      limiter.hitBoth(ip, tenant, NOW),
      limiter.hitBoth(ip, tenant, NOW),
      limiter.hitBoth(ip, tenant, NOW),
    ]);
    expect(calls()).toBe(1);
    expect(pairs.map(([a, b]) => [a.count, a.allowed, b?.count, b?.allowed])).toEqual([
      [1, true, 2, true],
      [2, true, 3, true],
      // The IP is over its limit: the tenant is not counted, as when the gate never ran.
      [3, false, undefined, undefined],
    ]);
    // The single hit came first in the turn: 1, then the two pairs' counts of the tenant.
    expect((await single).count).toBe(1);
    const index = Math.floor(NOW / RULE.windowMs);
    expect(await open().get(`${p}ratelimit:tenant:${RULE.windowMs}:${index}:acme`)).toBe('3');
  });

  it('keeps a hitBoth pair in one call when the turn is split', async () => {
    const { limiter, calls } = limiterOn(open(), prefix());
    const singles = Array.from({ length: MAX_HITS_PER_CALL - 1 }, (_, i) =>
      limiter.hit('ip', `203.0.113.${i}`, RULE, NOW),
    );
    const pair = limiter.hitBoth(
      { scope: 'ip', key: '198.51.100.30', rule: { limit: 0, windowMs: 60_000 } },
      { scope: 'tenant', key: 'acme', rule: RULE },
      NOW,
    );
    const later = limiter.hit('tenant', 'acme', RULE, NOW);
    await Promise.all(singles);
    const [ip, tenant] = await pair;
    expect(calls()).toBe(2);
    expect([ip.count, ip.allowed, tenant]).toEqual([1, false, undefined]);
    expect((await later).count).toBe(1);
  });

  it('loads the script again when Redis has lost it (SCRIPT FLUSH)', async () => {
    const redis = open();
    const { limiter } = limiterOn(redis, prefix());
    expect((await limiter.hit('ip', '192.0.2.1', RULE, NOW)).count).toBe(1);
    await redis.script('FLUSH');
    const decisions = await Promise.all([
      limiter.hit('ip', '192.0.2.1', RULE, NOW),
      limiter.hit('ip', '192.0.2.1', RULE, NOW),
    ]);
    expect(decisions.map((d) => d.count)).toEqual([2, 3]);
  });

  it('counts in-process, and reports one failure per call, when Redis cannot be reached', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    down.on('error', () => undefined);
    clients.push(down);
    const { limiter, failures } = limiterOn(down, prefix());
    const decisions = await Promise.all([
      limiter.hit('ip', '192.0.2.9', RULE, NOW),
      limiter.hit('ip', '192.0.2.9', RULE, NOW),
      limiter.hit('ip', '192.0.2.9', RULE, NOW),
      limiter.hit('ip', '192.0.2.9', RULE, NOW),
    ]);
    expect(decisions.map((d) => [d.count, d.allowed])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
    expect(failures()).toBe(1);
    // hitBoth in-process: the second is counted only while the first is within its limit.
    const ip = { scope: 'ip', key: '192.0.2.11', rule: { limit: 1, windowMs: 60_000 } };
    const tenant = { scope: 'tenant', key: 'acme', rule: RULE };
    const [first, second] = await Promise.all([
      limiter.hitBoth(ip, tenant, NOW),
      limiter.hitBoth(ip, tenant, NOW),
    ]);
    expect([first[0].allowed, first[1]?.count, second[0].allowed, second[1]]).toEqual([
      true,
      1,
      false,
      undefined,
    ]);
    expect(failures()).toBe(2);
  });

  it('counts in-process when the script answers something other than one count per key', async () => {
    const redis = open();
    redis.evalsha = (async () => [1]) as unknown as Redis['evalsha'];
    const failures: unknown[] = [];
    const health = new RedisHealth(new CapturingLogger(), { redisError: (op) => failures.push(op) });
    const limiter = new RedisRateLimiter(redis, health, prefix());
    const decisions = await Promise.all([
      limiter.hit('ip', '192.0.2.10', RULE, NOW),
      limiter.hit('tenant', 'acme', RULE, NOW),
    ]);
    expect(decisions.map((d) => d.count)).toEqual([1, 1]);
    expect(failures).toEqual(['command']);
  });
});
