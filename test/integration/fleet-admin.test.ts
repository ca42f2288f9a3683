// Two nodes sharing Redis and PostgreSQL (issues 15 and 18):
// - the per-credential cap (TURN_ALLOCATIONS_PER_USER, default 6) holds across the fleet: one minted
//   credential allocating from 9 ports over both nodes gets 6, and another user of the same tenant
//   (2 licenses x 4 = 8) still gets the remaining slots (the review found 8 taken and 486 for
//   everyone else);
// - `GET` and `DELETE /v1/admin/tenants/{id}/allocations` answer for every node, from either node,
//   each allocation with its node id; a node with a heartbeat that does not answer is reported.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetAllocations, FleetClosed } from '../../src/http/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  admin,
  credentialFor,
  type GateNode,
  ordersAt,
  type SharedServices,
  sharedServices,
  startGateNode,
  tenantWithKey,
} from './gate-harness.js';
import { TEST_REDIS_URL } from './http-harness.js';

let services: SharedServices;
let nodeA: GateNode;
let nodeB: GateNode;
let redis: Redis;
const clients: TurnClient[] = [];

beforeAll(async () => {
  services = await sharedServices();
  redis = new Redis(TEST_REDIS_URL);
  nodeA = await startGateNode(PORTS.fleetAdminA, services.env, { redisPrefix: services.redisPrefix });
  nodeB = await startGateNode(PORTS.fleetAdminB, services.env, { redisPrefix: services.redisPrefix });
  // Both nodes have written their first heartbeat (each lists the other as a fleet member).
  const deadline = Date.now() + 5_000;
  while ((await redis.zcard(`${services.redisPrefix}nodes`)) < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nodeA?.close();
  await nodeB?.close();
  redis?.disconnect();
  await services?.dispose();
});

async function allocateOn(gate: GateNode, credential: { username: string; password: string }) {
  const client = await TurnClient.open({
    ...gate.node.turnAddress(),
    username: credential.username,
    password: credential.password,
  });
  clients.push(client);
  return { client, code: (await client.allocate()).code };
}

describe('per-credential cap across the fleet (TURN_ALLOCATIONS_PER_USER)', () => {
  it('gives one credential 6 of 9 allocations over two nodes; another user of the tenant still allocates', async () => {
    const key = await tenantWithKey(nodeA.url, 'crowd', ordersAt.active(Date.now(), 2));
    const greedy = await credentialFor(nodeA.url, key, { sub: 'greedy@crowd.example' });
    const codes: number[] = [];
    for (let i = 0; i < 9; i++) codes.push((await allocateOn(i % 2 === 0 ? nodeA : nodeB, greedy)).code);
    expect(codes.filter((c) => c === 200)).toHaveLength(6);
    expect(codes.filter((c) => c === 486)).toHaveLength(3);
    expect(await nodeA.node.fleetQuota?.countUser(greedy.username)).toBe(6);

    const other = await credentialFor(nodeB.url, key, { sub: 'other@crowd.example' });
    expect((await allocateOn(nodeB, other)).code).toBe(200);
    expect((await allocateOn(nodeA, other)).code).toBe(200);
    // Now the tenant's quota (8) is full for everyone.
    expect((await allocateOn(nodeA, other)).code).toBe(486);
    expect(await nodeB.node.fleetQuota?.count('crowd')).toBe(8);
  });
});

describe('fleet-wide admin allocation routes', () => {
  it("lists and closes a tenant's allocations on both nodes, from either node", async () => {
    const key = await tenantWithKey(nodeA.url, 'spread', ordersAt.active(Date.now(), 2));
    const credential = await credentialFor(nodeA.url, key);
    expect((await allocateOn(nodeA, credential)).code).toBe(200);
    expect((await allocateOn(nodeA, credential)).code).toBe(200);
    expect((await allocateOn(nodeB, credential)).code).toBe(200);
    const idA = nodeA.node.fleetQuota!.nodeId;
    const idB = nodeB.node.fleetQuota!.nodeId;

    for (const gate of [nodeA, nodeB]) {
      const listed = await admin<FleetAllocations>(gate.url, 'GET', '/v1/admin/tenants/spread/allocations');
      expect(listed.status).toBe(200);
      expect(listed.body.complete).toBe(true);
      expect(listed.body.unreachable).toEqual([]);
      expect([...listed.body.answered].sort()).toEqual([idA, idB].sort());
      const nodes = listed.body.allocations.map((a) => a.node).sort();
      expect(nodes).toEqual([idA, idA, idB].sort());
      expect(listed.body.allocations.every((a) => a.tenant === 'spread')).toBe(true);
    }

    const closed = await admin<FleetClosed>(nodeB.url, 'DELETE', '/v1/admin/tenants/spread/allocations');
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ closed: 3, unreachable: [], complete: true });
    expect(nodeA.node.relay.core.listAllocations('spread')).toHaveLength(0);
    expect(nodeB.node.relay.core.listAllocations('spread')).toHaveLength(0);
    const after = await admin<FleetAllocations>(nodeA.url, 'GET', '/v1/admin/tenants/spread/allocations');
    expect(after.body.allocations).toEqual([]);
  });

  it('reports a node with a heartbeat that does not answer, instead of leaving it out silently', async () => {
    await tenantWithKey(nodeA.url, 'ghosted', ordersAt.active(Date.now(), 1));
    // A node that beat a moment ago (Redis' clock) but answers nothing: a stalled process.
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await redis.zadd(`${services.redisPrefix}nodes`, now, 'stalled-node');
    try {
      const started = Date.now();
      const listed = await admin<FleetAllocations>(nodeA.url, 'GET', '/v1/admin/tenants/ghosted/allocations');
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ unreachable: ['stalled-node'], complete: false });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await redis.zrem(`${services.redisPrefix}nodes`, 'stalled-node');
    }
  });

  it('answers 404 unknown_tenant for the allocations of an unknown tenant', async () => {
    const listed = await admin(nodeB.url, 'GET', '/v1/admin/tenants/never-imported/allocations');
    expect(listed).toMatchObject({ status: 404, body: { error: 'unknown_tenant' } });
    const closed = await admin(nodeB.url, 'DELETE', '/v1/admin/tenants/never-imported/allocations');
    expect(closed).toMatchObject({ status: 404, body: { error: 'unknown_tenant' } });
  });
});
