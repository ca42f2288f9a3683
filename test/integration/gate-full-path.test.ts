// The whole path of issue 4 through a real node (startIcegate over PostgreSQL and Redis):
// import a tenant, issue its license key, sign a tenant JWT with it as desknet's NEO would,
// get ICE servers, then relay with coturn's turnutils_uclient using the returned username and
// credential, and with two werift peers using the returned body unchanged.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { PORTS } from '../helpers/ports.js';
import { connectDataChannel } from '../helpers/werift-channel.js';
import {
  admin,
  expectState,
  type GateNode,
  type IceServersBody,
  iceServers,
  keyIdOf,
  ordersAt,
  type SharedServices,
  sharedServices,
  startEchoPeer,
  startGateNode,
  tenantToken,
  tenantWithKey,
  turnCredential,
  uclientWithCredential,
} from './gate-harness.js';
import { assertMatchesOpenApi, counterValue } from './http-harness.js';

let services: SharedServices;
let gate: GateNode;
let peer: ChildProcess;
let key: string;
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  services = await sharedServices();
  gate = await startGateNode(PORTS.gateFullPath, services.env, { redisPrefix: services.redisPrefix });
  peer = await startEchoPeer(PORTS.gateFullPath.peer);
  const orders = ordersAt.active(Date.now(), 3);
  expectState('acme', orders, Date.now(), 'active');
  key = await tenantWithKey(gate.url, 'acme', orders);
}, 30_000);

afterAll(async () => {
  await Promise.all(peers.map((pc) => pc.close()));
  peer?.kill('SIGKILL');
  await gate?.close();
  await services?.dispose();
});

async function freshIceServers(claims: Record<string, unknown> = {}): Promise<IceServersBody> {
  // As desknet's NEO does it: HS256 with the key's secret, kid = key id, exp 5 minutes ahead.
  const answer = await iceServers(gate.url, tenantToken(key, Date.now(), claims));
  expect(answer.status).toBe(200);
  assertMatchesOpenApi('/v1/ice-servers', 'post', 200, answer.body);
  return answer.body;
}

describe('the whole path through a real node', () => {
  it('answers an RTCConfiguration whose TURN credential names the tenant and the key', async () => {
    const body = await freshIceServers({ sub: 'alice@acme.example' });
    const { username } = turnCredential(body);
    const [expiry, tenant, opaque] = username.split(':');
    expect(tenant).toBe('acme');
    expect(opaque?.startsWith(`${keyIdOf(key)}.`)).toBe(true);
    // The end user's id never appears in clear.
    expect(username).not.toContain('alice');
    expect(Number(expiry)).toBe(Math.floor(Date.parse(body.expiresAt) / 1000));
    expect(body.iceServers.flatMap((s) => s.urls)).toContain(`turn:127.0.0.1:${gate.turnPort}?transport=udp`);
  });

  it('relays turnutils_uclient traffic with the returned username and credential, losing nothing', async () => {
    const { username, password } = turnCredential(await freshIceServers());
    const outcome = await uclientWithCredential({
      username,
      password,
      turnPort: gate.turnPort,
      peerPort: PORTS.gateFullPath.peer,
      clients: 2,
      messages: 100,
    });
    expect(outcome.lost).toBe(0);
    expect(outcome.sent).toBe(200);
    expect(outcome.received).toBe(200);
    const ok = await counterValue(gate.node.metrics, 'icegate_allocate_requests_total', { result: 'ok' });
    expect(ok).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('relays a werift data channel between two peers configured with the returned body unchanged', async () => {
    const configure = async () => {
      const body = await freshIceServers();
      // The body as it came, plus the relay-only policy that proves the path goes through icegate.
      const pc = new RTCPeerConnection({ ...body, iceTransportPolicy: 'relay' });
      peers.push(pc);
      return pc;
    };
    const offerer = await configure();
    const answerer = await configure();
    const { local, remote: channel } = await connectDataChannel(offerer, answerer);

    // While the call is up, the admin API lists the tenant's allocations on this node.
    const listed = await admin<{ allocations: { keyId: string | null; tenant: string }[] }>(
      gate.url,
      'GET',
      '/v1/admin/tenants/acme/allocations',
    );
    expect(listed.status).toBe(200);
    expect(listed.body.allocations.length).toBeGreaterThanOrEqual(2);
    expect(listed.body.allocations.every((a) => a.tenant === 'acme' && a.keyId === keyIdOf(key))).toBe(true);

    channel.onMessage.subscribe((data) => channel.send(data));
    const echoed: string[] = [];
    local.onMessage.subscribe((data) => {
      echoed.push(data.toString());
    });
    for (let i = 0; i < 20; i++) {
      local.send(`hello ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const deadline = Date.now() + 5_000;
    while (echoed.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(echoed).toEqual(Array.from({ length: 20 }, (_, i) => `hello ${i}`));
    // Relay-only: the messages went through icegate's relays, counted on the node.
    const traffic = await gate.node.metrics.registry.getSingleMetric('icegate_relayed_packets_total')?.get();
    expect(traffic?.values.reduce((sum, v) => sum + v.value, 0) ?? 0).toBeGreaterThan(0);
  }, 30_000);
});
