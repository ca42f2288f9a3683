// Per-tenant usage accounting (issue 6) over real Redis (own key prefix) and both real stores
// (the file store in a temp dir, PostgreSQL in a fresh schema): several nodes count, each adds
// only its own counts to the store (nothing counted twice), the per-day Redis hashes hold the
// fleet's live view, and a Redis outage loses nothing from the store and is caught up after.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createEntitlementRuntime } from '../../src/entitlement/service/index.js';
import type { EntitlementStore } from '../../src/entitlement/store/index.js';
import { LIVE_VIEW_TTL_SECONDS, type UsageAccountant, usageAccountantFor } from '../../src/usage/index.js';
import {
  CapturingLogger,
  deleteRedisPrefix,
  fileTestStore,
  pgTestStore,
  requireRedis,
  TcpProxy,
  TEST_REDIS_URL,
  type TestStore,
  uniquePrefix,
  waitFor,
} from './http-harness.js';

// 2026-11-24 12:00 JST
const NOON = Date.parse('2026-11-24T03:00:00Z');
const DAY = '2026-11-24';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function prefix(): string {
  const p = uniquePrefix();
  cleanups.push(() => deleteRedisPrefix(p));
  return p;
}

/** One node's accountant on its own Redis connection (as startIcegate wires it). */
async function node(store: EntitlementStore, redisPrefix: string, redisUrl = TEST_REDIS_URL) {
  const logger = new CapturingLogger();
  const runtime = createEntitlementRuntime({ store, logger, redisUrl, redisPrefix });
  await runtime.waitForRedis(3_000);
  const usage = usageAccountantFor(runtime, { store, logger, clock: () => NOON, liveIntervalMs: 60_000 });
  cleanups.push(async () => {
    await usage.close();
    await runtime.close();
  });
  return { usage, runtime, logger };
}

async function redisClient(): Promise<Redis> {
  const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => {
    client.disconnect();
  });
  return client;
}

function count(usage: UsageAccountant, tenant: string, bytes: number, seconds: number): void {
  usage.addTraffic(tenant, bytes, NOON);
  usage.addAllocationTime(tenant, seconds, NOON);
}

const STORES: [string, () => Promise<TestStore>][] = [
  ['file store', fileTestStore],
  ['PostgreSQL', pgTestStore],
];

describe.each(STORES)('usage accounting with Redis and the %s', (_name, openTestStore) => {
  async function stores(): Promise<TestStore> {
    await requireRedis();
    const s = await openTestStore();
    cleanups.push(() => s.dispose());
    return s;
  }

  it('adds what two nodes counted to the store once, however often they flush', async () => {
    const s = await stores();
    const p = prefix();
    const a = await node(s.store, p);
    const b = await node(await s.openAnother(), p);
    count(a.usage, 'acme', 1000, 30);
    count(b.usage, 'acme', 500, 12);
    count(b.usage, 'beta', 7, 1);
    // Both flush twice, concurrently: the second flush of each finds nothing new.
    await Promise.all([a.usage.flush(), b.usage.flush(), a.usage.flush(), b.usage.flush()]);
    count(a.usage, 'acme', 24, 0);
    await a.usage.flush();
    await b.usage.flush();
    expect(await s.store.usage(DAY, DAY)).toEqual([
      { tenant: 'acme', day: DAY, bytesRelayed: 1524, allocationSeconds: 42 },
      { tenant: 'beta', day: DAY, bytesRelayed: 7, allocationSeconds: 1 },
    ]);
  });

  it("keeps the fleet's live view in one Redis hash per JST day and reports it before any flush", async () => {
    const s = await stores();
    const p = prefix();
    const a = await node(s.store, p);
    const b = await node(await s.openAnother(), p);
    count(a.usage, 'acme', 1000, 30);
    count(b.usage, 'acme', 500, 12.4);
    expect(await a.usage.pushLive()).toBe(true);
    expect(await b.usage.pushLive()).toBe(true);

    const redis = await redisClient();
    const key = `${p}usage:${DAY}`;
    expect(await redis.hgetall(key)).toEqual({ 'acme:bytes': '1500', 'acme:seconds': '42' });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(LIVE_VIEW_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(LIVE_VIEW_TTL_SECONDS);

    // Node c counted nothing and nothing was flushed: the store is empty, the live view is not.
    const c = await node(await s.openAnother(), p);
    expect(await s.store.usage(DAY, DAY)).toEqual([]);
    expect(await c.usage.report(DAY, DAY, 'store')).toEqual({ source: 'store', rows: [] });
    expect(await c.usage.report(DAY, DAY, 'live')).toEqual({
      source: 'live',
      rows: [{ tenant: 'acme', day: DAY, bytesRelayed: 1500, allocationSeconds: 42 }],
    });

    // Once flushed, store and live view agree and the live report does not add them up.
    await a.usage.flush();
    await b.usage.flush();
    const live = await c.usage.report(DAY, DAY, 'live');
    expect(live.rows).toEqual(await s.store.usage(DAY, DAY));
    expect(live.rows[0]?.bytesRelayed).toBe(1500);
  });

  it('writes to the store through a Redis outage, answers live from the store meanwhile, and catches Redis up', async () => {
    const s = await stores();
    const p = prefix();
    const proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const a = await node(s.store, p, `redis://127.0.0.1:${proxy.port}`);
    count(a.usage, 'acme', 800, 20);
    await proxy.cut();
    await waitFor(() => a.runtime.redis?.commands.status !== 'ready', 3_000);

    expect(await a.usage.pushLive()).toBe(false);
    expect(await a.usage.flush()).toBe(true);
    const during = await a.usage.report(DAY, DAY, 'live');
    expect(during).toEqual({
      source: 'store',
      rows: [{ tenant: 'acme', day: DAY, bytesRelayed: 800, allocationSeconds: 20 }],
    });
    expect(a.logger.matching('redis unreachable')).toHaveLength(1);

    await proxy.restore();
    await waitFor(() => a.runtime.redis?.commands.status === 'ready', 5_000);
    expect(await a.usage.pushLive()).toBe(true);
    const redis = await redisClient();
    expect(await redis.hgetall(`${p}usage:${DAY}`)).toEqual({ 'acme:bytes': '800', 'acme:seconds': '20' });
    expect(await s.store.usage(DAY, DAY)).toEqual([
      { tenant: 'acme', day: DAY, bytesRelayed: 800, allocationSeconds: 20 },
    ]);
  });

  it('writes what is left at close, so a stopped node loses nothing', async () => {
    const s = await stores();
    const p = prefix();
    const a = await node(s.store, p);
    count(a.usage, 'acme', 64, 9.6);
    await a.usage.close();
    expect(await s.store.usage(DAY, DAY)).toEqual([
      { tenant: 'acme', day: DAY, bytesRelayed: 64, allocationSeconds: 10 },
    ]);
    const redis = await redisClient();
    expect(await redis.hgetall(`${p}usage:${DAY}`)).toEqual({ 'acme:bytes': '64', 'acme:seconds': '10' });
  });
});
