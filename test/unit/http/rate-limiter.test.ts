// In-process fixed windows and the 429 they lead to.
import { describe, expect, it } from 'vitest';
import { HttpError, MemoryRateLimiter } from '../../../src/http/index.js';
import { clientKey } from '../../../src/http/rate-limit/client-key.js';
import { enforceRateLimit } from '../../../src/http/rate-limit/rate-limit-policy.js';

describe('MemoryRateLimiter', () => {
  it('allows `limit` requests per key and window, then refuses until the window ends', async () => {
    const limiter = new MemoryRateLimiter();
    const rule = { limit: 3, windowMs: 1000 };
    const at = 10_000;
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push((await limiter.hit('ip', 'a', rule, at + i)).allowed);
    expect(verdicts).toEqual([true, true, true, false]);
    expect((await limiter.hit('ip', 'b', rule, at)).allowed).toBe(true);
    expect((await limiter.hit('tenant', 'a', rule, at)).allowed).toBe(true);
    expect(await limiter.hit('ip', 'a', rule, at + 1000)).toMatchObject({
      allowed: true,
      count: 1,
      resetAt: 12_000,
    });
  });

  it('stays bounded, sweeping finished windows first', async () => {
    const limiter = new MemoryRateLimiter(3);
    const rule = { limit: 1, windowMs: 1000 };
    for (const k of ['a', 'b', 'c']) await limiter.hit('ip', k, rule, 0);
    await limiter.hit('ip', 'd', rule, 5000);
    // 'a' was swept: a fresh window again.
    expect((await limiter.hit('ip', 'a', rule, 5000)).count).toBe(1);
  });

  it('throws 429 rate_limited with Retry-After in whole seconds', async () => {
    const limiter = new MemoryRateLimiter();
    const rule = { limit: 1, windowMs: 60_000 };
    await enforceRateLimit(limiter, 'tenant', 't', rule, 1_000);
    const err = await enforceRateLimit(limiter, 'tenant', 't', rule, 1_500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(429);
    expect((err as HttpError).headers['Retry-After']).toBe('59');
  });
});

describe('clientKey', () => {
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
