// Rate limits over real HTTP: per client IP and per tenant, 429 with Retry-After; held across
// two app instances sharing Redis, where a credential request counts its IP and its tenant in one
// Redis call; and still enforced (in-process) when Redis is unreachable.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimitSettings } from '../../src/http/index.js';
import {
  ACTIVE_ORDERS,
  assertMatchesOpenApi,
  counterValue,
  deleteRedisPrefix,
  FakeClock,
  fileTestStore,
  pgTestStore,
  requireRedis,
  startNode,
  TEST_NOW,
  TEST_REDIS_URL,
  type TestNode,
  tenantToken,
  tenantWithKey,
  uniquePrefix,
} from './http-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const clock = new FakeClock(TEST_NOW + 30_000); // mid-window: 30 s left in the minute

async function ice(node: TestNode, key: string) {
  const res = await fetch(`${node.app.url}/v1/ice-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
  });
  const json = (await res.json()) as Record<string, unknown>;
  assertMatchesOpenApi('/v1/ice-servers', 'post', res.status, json);
  return { status: res.status, json, retryAfter: res.headers.get('retry-after') };
}

async function statuses(node: TestNode, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await ice(node, key)).status);
  return out;
}

function limits(perIp: number, perTenant: number): Partial<RateLimitSettings> {
  return { perIp: { limit: perIp, windowMs: 60_000 }, perTenant: { limit: perTenant, windowMs: 60_000 } };
}

describe('rate limits', () => {
  it('limits one client IP, answering 429 rate_limited with Retry-After', async () => {
    const s = await fileTestStore();
    cleanups.push(() => s.dispose());
    const node = await startNode({ store: s.store, clock: clock.now, http: { rateLimits: limits(3, 100) } });
    cleanups.push(() => node.close());
    const key = await tenantWithKey(s.store, node.licenses, 'acme', ACTIVE_ORDERS);
    expect(await statuses(node, key, 3)).toEqual([200, 200, 200]);
    const refused = await ice(node, key);
    expect(refused).toMatchObject({ status: 429, json: { error: 'rate_limited' }, retryAfter: '30' });
    expect(refused.json.message).toMatch(/address/);
    // Another window, another allowance.
    clock.advance(30_000);
    expect((await ice(node, key)).status).toBe(200);
    clock.ms = TEST_NOW + 30_000;
  });

  it('limits one tenant, leaving other tenants alone', async () => {
    const s = await fileTestStore();
    cleanups.push(() => s.dispose());
    const node = await startNode({ store: s.store, clock: clock.now, http: { rateLimits: limits(100, 2) } });
    cleanups.push(() => node.close());
    const acme = await tenantWithKey(s.store, node.licenses, 'acme', ACTIVE_ORDERS);
    const beta = await tenantWithKey(s.store, node.licenses, 'beta', ACTIVE_ORDERS);
    expect(await statuses(node, acme, 3)).toEqual([200, 200, 429]);
    const refused = await ice(node, acme);
    expect(refused.json.message).toMatch(/tenant/);
    expect(await statuses(node, beta, 2)).toEqual([200, 200]);
    expect(
      await counterValue(node.metrics, 'icegate_credential_requests_total', {
        api: 'ice_servers',
        outcome: 'rate_limited',
      }),
    ).toBe(2);
  });

  it('holds a limit across two app instances sharing Redis', async () => {
    await requireRedis();
    const s = await pgTestStore();
    cleanups.push(() => s.dispose());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteRedisPrefix(prefix));
    const options = {
      clock: clock.now,
      redisUrl: TEST_REDIS_URL,
      redisPrefix: prefix,
      http: { rateLimits: limits(100, 4) },
    };
    const a = await startNode({ store: s.store, ...options });
    cleanups.push(() => a.close());
    const b = await startNode({ store: await s.openAnother(), ...options });
    cleanups.push(() => b.close());
    const key = await tenantWithKey(s.store, a.licenses, 'acme', ACTIVE_ORDERS);
    expect(await statuses(a, key, 2)).toEqual([200, 200]);
    expect(await statuses(b, key, 2)).toEqual([200, 200]);
    expect((await ice(a, key)).status).toBe(429);
    expect((await ice(b, key)).status).toBe(429);
  });

  it('with Redis, counts the IP and the tenant of a credential request in one call, the tenant only within the IP limit', async () => {
    await requireRedis();
    const s = await fileTestStore();
    cleanups.push(() => s.dispose());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteRedisPrefix(prefix));
    const node = await startNode({
      store: s.store,
      clock: clock.now,
      redisUrl: TEST_REDIS_URL,
      redisPrefix: prefix,
      http: { rateLimits: limits(3, 100) },
    });
    cleanups.push(() => node.close());
    const key = await tenantWithKey(s.store, node.licenses, 'acme', ACTIVE_ORDERS);
    // The first request warms the key cache (its key is looked up after the IP limit, as before).
    expect((await ice(node, key)).status).toBe(200);
    // What the node sends Redis from here on, read off the server itself (MONITOR).
    // monitor() opens a connection of its own; both are closed afterwards.
    const client = new Redis(TEST_REDIS_URL);
    const monitor = await client.monitor();
    cleanups.push(async () => {
      monitor.disconnect();
      client.disconnect();
    });
    const scripts: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^evalsha$/i.test(args[0] ?? '') && args.some((a) => a.startsWith(`${prefix}ratelimit:`))) {
        scripts.push(args);
      }
    });
    expect(await statuses(node, key, 3)).toEqual([200, 200, 429]);
    await expect.poll(() => scripts.length).toBe(3);
    // One call per request, naming the IP's key and then the tenant's.
    for (const args of scripts) {
      expect(args[2]).toBe('2');
      expect(args[3]).toMatch(new RegExp(`^${prefix}ratelimit:ip:`));
      expect(args[4]).toMatch(new RegExp(`^${prefix}ratelimit:tenant:60000:\\d+:acme$`));
    }
    // The refused request (its IP's fourth) did not count the tenant: 3 of the 4 did.
    const reader = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void reader.disconnect());
    const tenantKeys = await reader.keys(`${prefix}ratelimit:tenant:*`);
    expect(tenantKeys).toHaveLength(1);
    expect(await reader.get(tenantKeys[0] as string)).toBe('3');
  });

  it('counts the forwarded client address only when trust proxy is configured', async () => {
    const s = await fileTestStore();
    cleanups.push(() => s.dispose());
    const node = await startNode({
      store: s.store,
      clock: clock.now,
      http: { rateLimits: limits(1, 100), trustProxy: 'loopback' },
    });
    cleanups.push(() => node.close());
    const key = await tenantWithKey(s.store, node.licenses, 'acme', ACTIVE_ORDERS);
    const from = async (ip: string) =>
      (
        await fetch(`${node.app.url}/v1/ice-servers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}`, 'x-forwarded-for': ip },
        })
      ).status;
    expect([await from('203.0.113.1'), await from('203.0.113.2'), await from('203.0.113.1')]).toEqual([
      200, 200, 429,
    ]);
  });

  it('keeps limiting in-process when Redis is unreachable, and counts the Redis failures', async () => {
    const s = await fileTestStore();
    cleanups.push(() => s.dispose());
    const node = await startNode({
      store: s.store,
      clock: clock.now,
      redisUrl: 'redis://127.0.0.1:1',
      waitForRedisMs: 0,
      http: { rateLimits: limits(2, 100) },
    });
    cleanups.push(() => node.close());
    const key = await tenantWithKey(s.store, node.licenses, 'acme', ACTIVE_ORDERS);
    expect(await statuses(node, key, 3)).toEqual([200, 200, 429]);
    expect(
      await counterValue(node.metrics, 'icegate_redis_errors_total', { operation: 'command' }),
    ).toBeGreaterThanOrEqual(3);
    expect(node.logger.matching('redis unreachable')).toHaveLength(1);
  });
});
