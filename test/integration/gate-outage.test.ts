// Redis and PostgreSQL going away under two running nodes (issue 4). Each node reaches both
// through a TCP proxy the test cuts and restores, so the machine's servers keep running.
// - Redis cut: credentials keep coming from the store and in-process caches, the outage is
//   logged once and counted; a key revoked meanwhile on one node is refused on the other once
//   its in-process answer is a few seconds old; when Redis is back the fleet bus works again
//   with no restart.
// - PostgreSQL cut: cached answers are served until they are stale, then 503
//   entitlement_unavailable (fail closed); tenants never seen get 503 at once; new relay
//   allocations fail closed while live ones run on; the store coming back needs no restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  admin,
  credentialFor,
  credentialFromSecret,
  type GateNode,
  iceServers,
  keyIdOf,
  ordersAt,
  type SharedServices,
  sharedServices,
  startGateNode,
  tenantToken,
  tenantWithKey,
  within,
} from './gate-harness.js';
import {
  counterValue,
  proxyFor,
  type TcpProxy,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  throughProxy,
} from './http-harness.js';

/** Entitlement answers are fresh 1 s and may be served 2 s more while the store is down. */
const CACHE_POLICY = { maxTtlMs: 1_000, negativeTtlMs: 1_000, staleIfErrorMs: 2_000 };

let redisProxy: TcpProxy;
let pgProxy: TcpProxy;
let services: SharedServices;
let nodeA: GateNode;
let nodeB: GateNode;
const clients: TurnClient[] = [];

beforeAll(async () => {
  // The proxies lead to the servers TEST_REDIS_URL and TEST_DATABASE_URL name, with their credentials.
  redisProxy = proxyFor(TEST_REDIS_URL, 6379);
  pgProxy = proxyFor(TEST_DATABASE_URL, 5432);
  await redisProxy.start();
  await pgProxy.start();
  services = await sharedServices({
    redisUrl: throughProxy(TEST_REDIS_URL, redisProxy),
    databaseUrl: throughProxy(TEST_DATABASE_URL, pgProxy),
  });
  const options = { redisPrefix: services.redisPrefix, cachePolicy: CACHE_POLICY };
  // Both nodes share the relay range: the relay pool skips ports in use.
  nodeA = await startGateNode(PORTS.gateOutage, services.env, options);
  nodeB = await startGateNode(PORTS.gateOutage, services.env, options);
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nodeA?.close();
  await nodeB?.close();
  await redisProxy?.close();
  await pgProxy?.close();
  await services?.dispose();
});

async function status(gate: GateNode, key: string): Promise<{ status: number; error?: string | undefined }> {
  const answer = await iceServers(gate.url, tenantToken(key, Date.now()));
  return { status: answer.status, error: answer.body.error };
}

describe('Redis stopped mid-test and restarted', () => {
  it('keeps answering from the store, logs the outage once, and recovers without restart', async () => {
    const key = await tenantWithKey(nodeA.url, 'acme', ordersAt.active(Date.now()));
    const spare = await tenantWithKey(nodeA.url, 'spare', ordersAt.active(Date.now()));
    expect(await status(nodeA, key)).toEqual({ status: 200 });
    expect(await status(nodeB, key)).toEqual({ status: 200 });
    expect(await status(nodeB, spare)).toEqual({ status: 200 });

    await redisProxy.cut();
    try {
      await within(() => !nodeB.node.runtime.events.connected, 2_000, 'node B sees the bus down');
      for (let i = 0; i < 5; i++) {
        expect(await status(nodeA, key)).toEqual({ status: 200 });
        expect(await status(nodeB, key)).toEqual({ status: 200 });
      }
      // Writes go to the store; a tenant imported during the outage is served.
      const fresh = await tenantWithKey(nodeA.url, 'newcomer', ordersAt.active(Date.now()));
      expect(await status(nodeB, fresh)).toEqual({ status: 200 });
      // A key revoked on A while the bus is down: B's in-process answer is re-asked once it
      // is a few seconds old (changes from other nodes may be missed), so B refuses it too.
      const revoked = await admin(nodeA.url, 'POST', `/v1/admin/license-keys/${keyIdOf(spare)}/revoke`);
      expect(revoked.status).toBe(200);
      expect(await status(nodeA, spare)).toEqual({ status: 401, error: 'license_revoked' });
      await within(
        async () => (await status(nodeB, spare)).status === 401,
        7_000,
        'B refuses without the bus',
        100,
      );

      for (const gate of [nodeA, nodeB]) {
        expect(gate.logger.matching('redis unreachable')).toHaveLength(1);
        expect(await counterValue(gate.node.metrics, 'icegate_redis_errors_total', {})).toBeGreaterThan(0);
      }
    } finally {
      await redisProxy.restore();
    }

    // Back without restart: both nodes reconnect and the bus carries changes again.
    await within(
      () => nodeA.node.runtime.events.connected && nodeB.node.runtime.events.connected,
      5_000,
      'bus back',
    );
    for (const gate of [nodeA, nodeB]) expect(gate.logger.matching('redis reachable again')).toHaveLength(1);
    expect(await status(nodeB, key)).toEqual({ status: 200 });
    const reissued = await admin<{ key: string }>(
      nodeA.url,
      'POST',
      '/v1/admin/tenants/acme/license-keys/reissue',
      {
        server: 'neo-after-outage.acme.example.jp',
      },
    );
    expect(reissued.status).toBe(200);
    const reissuedAt = Date.now();
    await within(async () => (await status(nodeB, key)).status === 401, 1_000, 'B hears the reissue');
    expect(Date.now() - reissuedAt).toBeLessThan(1_000);
    expect(await status(nodeB, reissued.body.key)).toEqual({ status: 200 });
  }, 30_000);
});

describe('PostgreSQL unreachable', () => {
  it('serves cached answers until stale, then 503 entitlement_unavailable, and recovers without restart', async () => {
    const key = await tenantWithKey(nodeA.url, 'steady', ordersAt.active(Date.now()));
    const cold = await tenantWithKey(nodeA.url, 'cold', ordersAt.active(Date.now()));
    expect(await status(nodeB, key)).toEqual({ status: 200 });
    const credential = await credentialFor(nodeB.url, key);
    const live = await TurnClient.open({
      ...nodeB.node.turnAddress(),
      username: credential.username,
      password: credential.password,
    });
    clients.push(live);
    expect((await live.allocate()).code).toBe(200);

    await pgProxy.cut();
    const cutAt = Date.now();
    try {
      // Cached answers keep coming while the store is down: fresh, then past their 1 s
      // freshness as stale answers.
      expect(await status(nodeB, key)).toEqual({ status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await status(nodeB, key)).toEqual({ status: 200 });
      expect(
        await counterValue(nodeB.node.metrics, 'icegate_entitlement_cache_lookups_total', {
          result: 'stale',
        }),
      ).toBeGreaterThan(0);
      // A tenant this node never looked up cannot be checked: fail closed at once.
      expect(await status(nodeB, cold)).toEqual({ status: 503, error: 'entitlement_unavailable' });
      // Admin writes cannot reach the store either.
      const write = await admin(nodeB.url, 'POST', '/v1/admin/orders', {
        tenant: 'steady',
        orders: [{ id: 'more-1', kind: 'additional', receivedAt: new Date().toISOString(), licenses: 1 }],
      });
      expect({ status: write.status, error: write.body.error }).toEqual({
        status: 503,
        error: 'entitlement_unavailable',
      });

      // Past the stale deadline (1 s fresh + 2 s stale): 503, with Retry-After.
      await within(async () => (await status(nodeB, key)).status === 503, 6_000, 'stale answer refused', 100);
      expect(Date.now() - cutAt).toBeGreaterThanOrEqual(1_000);
      const refused = await iceServers(nodeB.url, tenantToken(key, Date.now()));
      expect(refused.body.error).toBe('entitlement_unavailable');
      expect(refused.headers.get('retry-after')).toBe('5');

      // The relay fails closed for new allocations (500, retried by clients) ... (the
      // credential is minted from the shared TURN secret: no node would mint one now).
      const minted = credentialFromSecret('steady', keyIdOf(key));
      const newcomer = await TurnClient.open({
        ...nodeB.node.turnAddress(),
        username: minted.username,
        password: minted.password,
      });
      clients.push(newcomer);
      expect((await newcomer.allocate()).code).toBe(500);
      // ... while the live allocation runs on: its Refresh cannot be judged, so nothing changes.
      expect((await live.refresh()).code).toBe(500);
      expect(nodeB.node.relay.core.listAllocations('steady')).toHaveLength(1);

      expect(nodeB.logger.matching('entitlement store unreachable')).toHaveLength(1);
      expect(
        await counterValue(nodeB.node.metrics, 'icegate_store_errors_total', { operation: 'read' }),
      ).toBeGreaterThan(0);
    } finally {
      await pgProxy.restore();
    }

    // Back without restart.
    await within(async () => (await status(nodeB, key)).status === 200, 10_000, 'store answers again', 100);
    expect(await status(nodeB, cold)).toEqual({ status: 200 });
    expect((await live.refresh()).code).toBe(200);
    expect(nodeB.logger.matching('entitlement store reachable again')).toHaveLength(1);
  }, 40_000);
});
