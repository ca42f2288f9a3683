// The per-tenant allocation quota (issue 4): licenses in force x TURN_ALLOCATIONS_PER_LICENSE,
// here 1 x 2. The allocation after the quota gets 486, on one node and across two nodes that
// share Redis (the fleet ledger); a freed slot can be taken again. With Redis cut off, each node
// falls back to the per-node limit and counts the Redis errors.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  credentialFor,
  type GateNode,
  ordersAt,
  type SharedServices,
  sharedServices,
  startGateNode,
  tenantWithKey,
} from './gate-harness.js';
import { counterValue, TcpProxy } from './http-harness.js';
import { NATIVE_UNAVAILABLE } from './native-harness.js';

let services: SharedServices;
let redisProxy: TcpProxy;
let nodeA: GateNode;
let nodeB: GateNode;
const clients: TurnClient[] = [];

beforeAll(async () => {
  // Redis through a proxy, so the last test can cut it off without touching the machine's Redis.
  redisProxy = new TcpProxy('127.0.0.1', 6379);
  await redisProxy.start();
  services = await sharedServices({ redisUrl: `redis://127.0.0.1:${redisProxy.port}` });
  const env = { ...services.env, TURN_ALLOCATIONS_PER_LICENSE: '2' };
  nodeA = await startGateNode(PORTS.gateQuotaA, env, {
    redisPrefix: services.redisPrefix,
    refusalLogIntervalMs: 100,
  });
  nodeB = await startGateNode(PORTS.gateQuotaB, env, { redisPrefix: services.redisPrefix });
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nodeA?.close();
  await nodeB?.close();
  await redisProxy?.close();
  await services?.dispose();
});

/** A tenant with one license (quota 2) and a credential from node A's endpoint. */
async function oneLicenseTenant(tenant: string): Promise<{ username: string; password: string }> {
  const key = await tenantWithKey(nodeA.url, tenant, ordersAt.active(Date.now(), 1));
  return credentialFor(nodeA.url, key);
}

/** Allocates from a fresh client socket on `gate`; answers the client and the response code. */
async function allocateOn(gate: GateNode, credential: { username: string; password: string }) {
  const client = await TurnClient.open({
    ...gate.node.turnAddress(),
    username: credential.username,
    password: credential.password,
  });
  clients.push(client);
  return { client, code: (await client.allocate()).code };
}

describe('allocation quota (1 license x 2)', () => {
  it('answers 486 to the third allocation on one node, and frees the slot on delete', async () => {
    // The nodes start from the config defaults: native data plane wherever the addon loads (issue
    // 9), so the quota is checked on native relays here (the JS path: test-host based tests).
    expect(nodeA.node.relay.native !== null).toBe(NATIVE_UNAVAILABLE === null);
    const credential = await oneLicenseTenant('solo');
    const first = await allocateOn(nodeA, credential);
    const second = await allocateOn(nodeA, credential);
    expect([first.code, second.code]).toEqual([200, 200]);
    expect((await allocateOn(nodeA, credential)).code).toBe(486);
    expect(await counterValue(nodeA.node.metrics, 'icegate_quota_refusals_total', { transport: 'udp' })).toBe(
      1,
    );

    // Deleting an allocation (Refresh with lifetime 0) gives its slot back, fleet-wide too.
    expect((await first.client.refresh(0)).code).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await nodeA.node.fleetQuota?.count('solo')).toBe(1);
    expect((await allocateOn(nodeA, credential)).code).toBe(200);
    expect((await allocateOn(nodeA, credential)).code).toBe(486);
  });

  it('answers 486 to the third allocation across two nodes', async () => {
    const credential = await oneLicenseTenant('duo');
    expect((await allocateOn(nodeA, credential)).code).toBe(200);
    expect((await allocateOn(nodeB, credential)).code).toBe(200);
    // Each node holds one allocation, under the per-node limit of 2: only the fleet count refuses.
    expect(nodeA.node.relay.core.tenantLoad('duo')).toBe(1);
    expect(nodeB.node.relay.core.tenantLoad('duo')).toBe(1);
    expect((await allocateOn(nodeA, credential)).code).toBe(486);
    expect((await allocateOn(nodeB, credential)).code).toBe(486);
    expect(await nodeB.node.fleetQuota?.count('duo')).toBe(2);
    // Refusals are summed per tenant and reason into one line per interval (issue 18).
    await vi.waitFor(() => {
      const lines = nodeA.logger.matching('TURN requests refused').filter((l) => l.fields.tenant === 'duo');
      expect(lines.map((l) => l.fields.reason)).toContain('fleet_quota_exceeded');
    });
    // A 486 for quota is not an authentication failure.
    expect(
      await counterValue(nodeA.node.metrics, 'icegate_auth_failures_total', { reason: 'not_entitled' }),
    ).toBe(0);
  });

  it('falls back to the per-node limit while Redis is unreachable, counting the errors', async () => {
    const credential = await oneLicenseTenant('island');
    await redisProxy.cut();
    try {
      const before = await counterValue(nodeA.node.metrics, 'icegate_redis_errors_total', {
        operation: 'command',
      });
      const onA = [await allocateOn(nodeA, credential), await allocateOn(nodeA, credential)];
      expect(onA.map((r) => r.code)).toEqual([200, 200]);
      expect((await allocateOn(nodeA, credential)).code).toBe(486);
      // Without the ledger the other node cannot know: it admits up to its own limit.
      expect((await allocateOn(nodeB, credential)).code).toBe(200);
      const after = await counterValue(nodeA.node.metrics, 'icegate_redis_errors_total', {
        operation: 'command',
      });
      expect(after).toBeGreaterThan(before);
      expect(nodeA.logger.matching('redis unreachable')).toHaveLength(1);
    } finally {
      await redisProxy.restore();
    }
    // Once Redis answers again, each node puts its live allocations back in the ledger.
    const deadline = Date.now() + 5_000;
    let count: number | null | undefined = null;
    while (Date.now() < deadline) {
      count = await nodeA.node.fleetQuota?.count('island');
      if (count === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(count).toBe(3);
    expect((await allocateOn(nodeB, credential)).code).toBe(486);
  }, 20_000);
});
