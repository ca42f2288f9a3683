// The entitlement layer over real Redis and real PostgreSQL: the shared cache, single-flight
// against a real store, fleet invalidation between two nodes within a second (a reissue on one
// node is refused on the other), and Redis unreachable / cut and restored mid-test.
import { afterEach, describe, expect, it } from 'vitest';
import { cacheMetricsFrom } from '../../src/entitlement/cache/index.js';
import { createEntitlementRuntime, type EntitlementRuntime } from '../../src/entitlement/service/index.js';
import type { EntitlementStore } from '../../src/entitlement/store/index.js';
import { LicenseService } from '../../src/licensing/index.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import {
  ACTIVE_ORDERS,
  CapturingLogger,
  counterValue,
  countingStore,
  deleteRedisPrefix,
  FakeClock,
  pgTestStore,
  requireRedis,
  startNode,
  TcpProxy,
  TEST_NOW,
  TEST_REDIS_URL,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
  uniquePrefix,
  waitFor,
} from './http-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function pg(): Promise<TestStore> {
  await requireRedis();
  const s = await pgTestStore();
  cleanups.push(() => s.dispose());
  return s;
}

function prefix(): string {
  const p = uniquePrefix();
  cleanups.push(() => deleteRedisPrefix(p));
  return p;
}

function runtime(
  store: EntitlementStore,
  options: { redisUrl?: string; redisPrefix?: string; clock?: () => number } = {},
) {
  const logger = new CapturingLogger();
  const metrics = createMetrics({ defaultMetrics: false });
  const rt: EntitlementRuntime = createEntitlementRuntime({
    store,
    logger,
    metrics: cacheMetricsFrom(metrics, store.kind),
    redisUrl: options.redisUrl ?? TEST_REDIS_URL,
    ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanups.push(() => rt.close());
  return { rt, logger, metrics };
}

async function connected(...runtimes: { rt: EntitlementRuntime }[]): Promise<void> {
  for (const { rt } of runtimes) expect(await rt.waitForRedis(5_000)).toBe(true);
}

async function node(
  store: EntitlementStore,
  clock: FakeClock,
  redisPrefix: string,
  redisUrl = TEST_REDIS_URL,
) {
  const n: TestNode = await startNode({ store, clock: clock.now, redisUrl, redisPrefix });
  cleanups.push(() => n.close());
  return n;
}

describe('entitlement cache over Redis', () => {
  it('shares answers between nodes through Redis', async () => {
    const s = await pg();
    const p = prefix();
    await s.store.importOrders('acme', ACTIVE_ORDERS);
    const a = countingStore(s.store);
    const b = countingStore(await s.openAnother());
    const clock = new FakeClock(TEST_NOW);
    const nodeA = runtime(a.store, { redisPrefix: p, clock: clock.now });
    const nodeB = runtime(b.store, { redisPrefix: p, clock: clock.now });
    await connected(nodeA, nodeB);
    expect((await nodeA.rt.service.get('acme')).active).toBe(true);
    expect((await nodeB.rt.service.get('acme')).licenses).toBe(50);
    expect(a.calls.orderHistory).toBe(1);
    expect(b.calls.orderHistory).toBe(0);
  });

  it('makes one query to a real store for concurrent misses of one tenant', async () => {
    const s = await pg();
    await s.store.importOrders('acme', ACTIVE_ORDERS);
    await s.store.importOrders('beta', ACTIVE_ORDERS);
    const counted = countingStore(s.store);
    const { rt } = runtime(counted.store, { redisPrefix: prefix(), clock: new FakeClock(TEST_NOW).now });
    const answers = await Promise.all([
      ...Array.from({ length: 25 }, () => rt.service.get('acme')),
      ...Array.from({ length: 25 }, () => rt.service.get('beta')),
    ]);
    expect(answers.every((x) => x.active)).toBe(true);
    expect(counted.calls.orderHistory).toBe(2);
  });

  it('drops a changed tenant on every node within a second', async () => {
    const s = await pg();
    const p = prefix();
    await s.store.importOrders('acme', ACTIVE_ORDERS);
    const clock = new FakeClock(TEST_NOW);
    const a = runtime(s.store, { redisPrefix: p, clock: clock.now });
    const b = runtime(await s.openAnother(), { redisPrefix: p, clock: clock.now });
    await connected(a, b);
    expect((await b.rt.service.get('acme')).licenses).toBe(50);

    await s.store.importOrders('acme', [
      { id: 'a-2', kind: 'additional', receivedAt: '2027-03-02T09:00:00+09:00', licenses: 10 },
    ]);
    const heard: string[] = [];
    b.rt.events.subscribe((change) => heard.push(`${change.tenant}:${change.kind}`));
    const started = Date.now();
    await a.rt.events.publish({ tenant: 'acme', kind: 'orders' });
    const elapsed = await waitFor(async () => (await b.rt.service.get('acme')).licenses === 60, 1_000);
    expect(elapsed).toBeLessThan(1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(heard).toEqual(['acme:orders']);
  });

  it('refuses a key reissued on node A on node B within a second, though B had it cached', async () => {
    const s = await pg();
    const p = prefix();
    const clock = new FakeClock(TEST_NOW);
    const licenses = new LicenseService(s.store);
    const oldKey = await tenantWithKey(s.store, licenses, 'acme', ACTIVE_ORDERS);
    const a = await node(s.store, clock, p);
    const b = await node(await s.openAnother(), clock, p);
    expect(await a.runtime.waitForRedis(5_000)).toBe(true);
    expect(await b.runtime.waitForRedis(5_000)).toBe(true);
    const ice = (n: TestNode, key: string) =>
      fetch(`${n.app.url}/v1/ice-servers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
      });
    expect((await ice(b, oldKey)).status).toBe(200);

    const reissue = await fetch(`${a.app.url}/v1/license-keys/reissue`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenantToken(oldKey, clock.ms)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ server: 'new-host' }),
    });
    const started = Date.now();
    expect(reissue.status).toBe(200);
    const newKey = ((await reissue.json()) as { key: string }).key;
    expect((await ice(a, oldKey)).status).toBe(401);
    await waitFor(async () => (await ice(b, oldKey)).status === 401, 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    const refused = await ice(b, oldKey);
    expect(await refused.json()).toMatchObject({ error: 'license_revoked' });
    expect((await ice(b, newKey)).status).toBe(200);
  });

  it('keeps answering from the store when Redis is unreachable, fast, logging it once', async () => {
    const s = await pg();
    await s.store.importOrders('acme', ACTIVE_ORDERS);
    const clock = new FakeClock(TEST_NOW);
    const { rt, logger, metrics } = runtime(s.store, { redisUrl: 'redis://127.0.0.1:1', clock: clock.now });
    const heard: string[] = [];
    rt.events.subscribe((c) => heard.push(c.tenant));
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      expect((await rt.service.get('acme')).active).toBe(true);
      expect(performance.now() - started).toBeLessThan(250);
      clock.advance(61_000);
    }
    await rt.events.publish({ tenant: 'acme', kind: 'orders' });
    expect(heard).toEqual(['acme']);
    expect(logger.matching('redis unreachable')).toHaveLength(1);
    expect(
      (await counterValue(metrics, 'icegate_redis_errors_total', { operation: 'command' })) +
        (await counterValue(metrics, 'icegate_redis_errors_total', { operation: 'connection' })),
    ).toBeGreaterThan(5);
    // Without the bus, answers older than 5 s are not trusted.
    expect(rt.events.connected).toBe(false);
  });

  it('rides out Redis cut off mid-test and picks up again, without a restart', async () => {
    await requireRedis();
    const s = await pg();
    const p = prefix();
    await s.store.importOrders('acme', ACTIVE_ORDERS);
    const proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const clock = new FakeClock(TEST_NOW);
    const viaProxy = runtime(s.store, {
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      redisPrefix: p,
      clock: clock.now,
    });
    const direct = runtime(await s.openAnother(), { redisPrefix: p, clock: clock.now });
    await connected(viaProxy, direct);
    await viaProxy.rt.service.get('acme');

    await proxy.cut();
    await waitFor(() => !viaProxy.rt.events.connected, 2_000);
    for (let i = 0; i < 5; i++) {
      await viaProxy.rt.service.invalidate('acme');
      expect((await viaProxy.rt.service.get('acme')).active).toBe(true);
    }
    expect(viaProxy.logger.matching('redis unreachable')).toHaveLength(1);

    await proxy.restore();
    await waitFor(() => viaProxy.rt.events.connected, 5_000);
    await waitFor(() => viaProxy.logger.matching('redis reachable again').length === 1, 5_000);

    // Fleet delivery works again: a change published by the other node drops the cached answer.
    await viaProxy.rt.service.get('acme');
    await s.store.importOrders('acme', [
      { id: 'a-2', kind: 'additional', receivedAt: '2027-03-02T09:00:00+09:00', licenses: 10 },
    ]);
    await direct.rt.events.publish({ tenant: 'acme', kind: 'orders' });
    await waitFor(async () => (await viaProxy.rt.service.get('acme')).licenses === 60, 1_000);
    expect(viaProxy.logger.matching('redis unreachable')).toHaveLength(1);
  });
});
