// Two icegate nodes of one fleet (startIcegate twice, other ports, the same PostgreSQL schema and
// Redis prefix). A key reissued on one node is refused on both within a second, even though the
// other node had it cached; the old key's live allocations end within 5 seconds on the node that
// holds them, and its credentials cannot allocate again. A tenant whose orders change so that it
// is no longer entitled gets 403 on its next Refresh, and its allocations end on every node.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { parseCredentialOpaque } from '../../src/http/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  admin,
  credentialFor,
  expectState,
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

let services: SharedServices;
/** Enforcement grace 20 s: its Refresh path is seen before enforcement acts. */
let nodeA: GateNode;
/** Enforcement grace 1 s: its allocations are cut by enforcement. */
let nodeB: GateNode;
const clients: TurnClient[] = [];

beforeAll(async () => {
  services = await sharedServices();
  nodeA = await startGateNode(
    PORTS.gateFleetA,
    { ...services.env, ENFORCEMENT_GRACE_SECONDS: '20' },
    { redisPrefix: services.redisPrefix, refusalLogIntervalMs: 100 },
  );
  nodeB = await startGateNode(
    PORTS.gateFleetB,
    { ...services.env, ENFORCEMENT_GRACE_SECONDS: '1' },
    { redisPrefix: services.redisPrefix, refusalLogIntervalMs: 100 },
  );
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nodeA?.close();
  await nodeB?.close();
  await services?.dispose();
});

async function allocation(gate: GateNode, credential: { username: string; password: string }) {
  const client = await TurnClient.open({
    ...gate.node.turnAddress(),
    username: credential.username,
    password: credential.password,
  });
  clients.push(client);
  const response = await client.allocate();
  expect(response.code).toBe(200);
  return client;
}

function keyIdsOn(gate: GateNode, tenant: string): (string | null)[] {
  return gate.node.relay.core
    .listAllocations(tenant)
    .map((a) => (a.opaque === undefined ? null : (parseCredentialOpaque(a.opaque)?.keyId ?? null)));
}

describe('a reissued key across two nodes', () => {
  it('is refused on both within a second and its allocations end within 5 s', async () => {
    const oldKey = await tenantWithKey(nodeA.url, 'acme', ordersAt.active(Date.now()));
    // Node B verifies the key and the entitlement once: both are now in its caches.
    expect((await iceServers(nodeB.url, tenantToken(oldKey, Date.now()))).status).toBe(200);
    expect((await iceServers(nodeA.url, tenantToken(oldKey, Date.now()))).status).toBe(200);
    // A live allocation on node B from a credential minted from the old key.
    const oldClient = await allocation(nodeB, await credentialFor(nodeB.url, oldKey));
    const oldCredential = { username: oldClient.options.username, password: oldClient.options.password };
    expect(keyIdsOn(nodeB, 'acme')).toEqual([keyIdOf(oldKey)]);

    const reissued = await admin<{ key: string; revoked: string[] }>(
      nodeA.url,
      'POST',
      '/v1/admin/tenants/acme/license-keys/reissue',
      { server: 'neo-new.acme.example.jp' },
    );
    const reissuedAt = Date.now();
    expect(reissued.status).toBe(200);
    expect(reissued.body.revoked).toEqual([keyIdOf(oldKey)]);
    const newKey = reissued.body.key;

    // The old key: refused on both nodes within a second of the reissue.
    const refusedOn = async (gate: GateNode) => {
      const answer = await iceServers(gate.url, tenantToken(oldKey, Date.now()));
      return answer.status === 401 && answer.body.error === 'license_revoked';
    };
    await within(() => refusedOn(nodeA), 1_000, 'old key refused on node A');
    await within(() => refusedOn(nodeB), 1_000, 'old key refused on node B');
    expect(Date.now() - reissuedAt).toBeLessThan(1_000);
    // The new key works on both.
    expect((await iceServers(nodeA.url, tenantToken(newKey, Date.now()))).status).toBe(200);
    expect((await iceServers(nodeB.url, tenantToken(newKey, Date.now()))).status).toBe(200);
    const newClient = await allocation(nodeB, await credentialFor(nodeB.url, newKey));

    // The old key's allocation ends on node B within 5 s; the new key's one lives on.
    await within(() => !keyIdsOn(nodeB, 'acme').includes(keyIdOf(oldKey)), 5_000, 'old allocation closed');
    expect(Date.now() - reissuedAt).toBeLessThan(5_000);
    expect(keyIdsOn(nodeB, 'acme')).toEqual([keyIdOf(newKey)]);
    expect(nodeB.logger.matching('allocations closed: license key revoked')).toHaveLength(1);
    // The old client's Refresh finds no allocation; the new one refreshes.
    expect((await oldClient.refresh()).code).toBe(437);
    expect((await newClient.refresh()).code).toBe(200);

    // The old key's credential, still within its TTL, cannot allocate again on either node.
    for (const gate of [nodeA, nodeB]) {
      const again = await TurnClient.open({
        ...gate.node.turnAddress(),
        username: oldCredential.username,
        password: oldCredential.password,
      });
      clients.push(again);
      expect((await again.allocate()).code).toBe(403);
      // Refusals are summed per tenant and reason into one line per interval (issue 18).
      await vi.waitFor(() => {
        const refusals = gate.logger.matching('TURN requests refused');
        expect(refusals.map((l) => l.fields.reason)).toContain('license_revoked');
      });
    }
  }, 20_000);
});

describe('a reissue whose outcome is unknown (its COMMIT reply lost)', () => {
  it('makes every node re-read the signing key within a second, and closes nothing', async () => {
    const key = await tenantWithKey(nodeA.url, 'unsure-co', ordersAt.active(Date.now()));
    // Node B has the key cached as active, and an allocation from a credential of it.
    expect((await iceServers(nodeB.url, tenantToken(key, Date.now()))).status).toBe(200);
    const client = await allocation(nodeB, await credentialFor(nodeB.url, key));
    const closedBefore = nodeB.logger.matching('allocations closed: license key revoked').length;
    // The store has it revoked (the reissue committed) but no node was told; node A only knows
    // that its write failed as unavailable, and says so (as the reissue routes do).
    await nodeA.node.store.revokeKey(keyIdOf(key), new Date());
    const toldAt = Date.now();
    await nodeA.node.runtime.events.publish({
      tenant: 'unsure-co',
      kind: 'key_uncertain',
      keyId: keyIdOf(key),
    });
    await within(
      async () => {
        const answer = await iceServers(nodeB.url, tenantToken(key, Date.now()));
        return answer.status === 401 && answer.body.error === 'license_revoked';
      },
      1_000,
      'the key re-read on node B',
    );
    expect(Date.now() - toldAt).toBeLessThan(1_000);
    // Nothing was closed on an uncertain notice (node B's enforcement grace is 1 s).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(keyIdsOn(nodeB, 'unsure-co')).toEqual([keyIdOf(key)]);
    expect(nodeB.logger.matching('allocations closed: license key revoked')).toHaveLength(closedBefore);
    // Its next Refresh finds the key revoked: the allocation ends there.
    expect((await client.refresh()).code).toBe(403);
  }, 15_000);
});

describe('a tenant that loses its entitlement', () => {
  it('gets 403 on its next Refresh, and its allocations end on every node', async () => {
    const now = Date.now();
    const key = await tenantWithKey(nodeA.url, 'fading', ordersAt.active(now));
    const onA = await allocation(nodeA, await credentialFor(nodeA.url, key));
    await allocation(nodeB, await credentialFor(nodeB.url, key));
    expect((await onA.refresh()).code).toBe(200);

    // An earlier initial order turns up: it becomes the tenant's first order, the later one
    // is rejected, and the support it gives ended long ago.
    expectState('fading', [...ordersAt.active(now), ...ordersAt.earlierInitial(now)], now, 'expired');
    const imported = await admin<{ statusChanged: string[] }>(nodeA.url, 'POST', '/v1/admin/orders', {
      tenant: 'fading',
      orders: ordersAt.earlierInitial(now),
    });
    expect(imported.status).toBe(200);
    expect(imported.body.statusChanged).toEqual(['active-1']);
    const changedAt = Date.now();

    // Node A (enforcement grace 20 s): the client's next Refresh is refused and ends the allocation.
    const refused = await onA.refresh();
    expect(refused.code).toBe(403);
    expect(nodeA.node.relay.core.listAllocations('fading')).toHaveLength(0);
    expect((await onA.refresh()).code).toBe(437);

    // Node B (grace 1 s): enforcement ends the allocation with no client action.
    await within(() => nodeB.node.relay.core.listAllocations('fading').length === 0, 5_000, 'closed on B');
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    expect(nodeB.logger.matching('allocations closed: tenant no longer entitled')).toHaveLength(1);

    // Neither node gives credentials any more.
    for (const gate of [nodeA, nodeB]) {
      const answer = await iceServers(gate.url, tenantToken(key, Date.now()));
      expect({ status: answer.status, error: answer.body.error }).toEqual({
        status: 403,
        error: 'support_expired',
      });
    }
  }, 20_000);
});

describe('a key revoked with the CLI while a node runs', () => {
  it('is refused within a second and its allocations end: the CLI tells the fleet through Redis', async () => {
    // The CLI publishes under the deployment's default prefix, so this node uses it too; the
    // tenant name is unique, so other nodes on the same Redis are not affected.
    const nodeC = await startGateNode(PORTS.gateFleetB, services.env);
    try {
      const tenant = `cli-${randomBytes(4).toString('hex')}`;
      const key = await tenantWithKey(nodeC.url, tenant, ordersAt.active(Date.now()));
      await allocation(nodeC, await credentialFor(nodeC.url, key));
      expect(nodeC.node.relay.core.listAllocations(tenant)).toHaveLength(1);

      let stderr = '';
      const code = await runCli(['license', 'revoke', keyIdOf(key)], {
        stdout: () => undefined,
        stderr: (text) => {
          stderr += text;
        },
        env: services.env,
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const revokedAt = Date.now();
      await within(
        async () => (await iceServers(nodeC.url, tenantToken(key, Date.now()))).status === 401,
        1_000,
        'revoked key refused',
        50,
      );
      await within(
        () => nodeC.node.relay.core.listAllocations(tenant).length === 0,
        5_000,
        'allocation closed',
      );
      expect(Date.now() - revokedAt).toBeLessThan(5_000);
    } finally {
      await nodeC.close();
    }
  }, 20_000);
});
