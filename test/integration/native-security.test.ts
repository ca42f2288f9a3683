// TURN_DATA_PLANE=native keeps the security and accounting of the JS path (issue 9), on whole
// nodes with a real UDP client and real peer sockets on loopback: the peer filter still refuses
// loopback peers without TURN_ALLOW_LOOPBACK_PEERS (CreatePermission, ChannelBind, Send); a
// datagram from a peer without a permission never reaches the client while a permitted one does;
// ChannelData goes both ways through the plane; the relayed bytes and packets reach the metrics,
// the allocation log line and the usage store exactly; and the end of an allocation closes its
// native relay socket (the port can be bound again).
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jstDateOf } from '../../src/entitlement/rules/index.js';
import type { TransportAddress } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { relayedAddress, type TurnClient } from '../helpers/turn-client.js';
import { scrapeSum } from './drain-harness.js';
import {
  announceSkip,
  loopbackTurnClient,
  NATIVE_UNAVAILABLE,
  type NativeNode,
  startNativeNode,
  until,
} from './native-harness.js';

announceSkip('native-security.test.ts');

let strict: NativeNode;
let open: NativeNode;
const sockets: dgram.Socket[] = [];
const clients: TurnClient[] = [];

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  strict = await startNativeNode(PORTS.nativeSecurityStrict, { TURN_ALLOW_LOOPBACK_PEERS: 'false' });
  open = await startNativeNode(PORTS.nativeSecurity);
}, 30_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(clients.map((c) => c.close()));
  await strict?.close();
  await open?.close();
});

/** A peer socket on `ip` with an inbox. */
async function peerSocket(
  ip: string,
): Promise<{ socket: dgram.Socket; address: TransportAddress; inbox: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const inbox: Buffer[] = [];
  socket.on('message', (data) => inbox.push(data));
  await new Promise<void>((resolve) => socket.bind(0, ip, () => resolve()));
  return { socket, address: { family: 'IPv4', address: ip, port: socket.address().port }, inbox };
}

function client(node: NativeNode): Promise<TurnClient> {
  return loopbackTurnClient(node.turnPort, node.credential(), clients);
}

/**
 * A fence: a Binding request answered by the node after everything the client sent before it
 * (one client's datagrams are handled in order), so a relayed datagram would have left already.
 */
async function fence(c: TurnClient): Promise<void> {
  expect((await c.binding()).code).toBe(200);
  await new Promise((resolve) => setImmediate(resolve));
}

describe.skipIf(NATIVE_UNAVAILABLE !== null)('TURN_DATA_PLANE=native: peer filtering', () => {
  it('refuses loopback peers without TURN_ALLOW_LOOPBACK_PEERS (403), and relays nothing to them', async () => {
    expect(strict.node.relay.native).not.toBeNull();
    const c = await client(strict);
    expect((await c.allocate()).code).toBe(200);
    const peer = await peerSocket('127.0.0.1');
    expect((await c.createPermission(peer.address)).code).toBe(403);
    expect((await c.createPermission({ ...peer.address, address: '127.0.0.2' })).code).toBe(403);
    expect((await c.channelBind(0x4001, peer.address)).code).toBe(403);
    c.sendIndication(peer.address, Buffer.from('must not arrive'));
    c.channelData(0x4001, Buffer.from('nor this'));
    await fence(c);
    await fence(c);
    expect(peer.inbox).toEqual([]);
    expect((await c.refresh(0)).code).toBe(200);
  });

  it('closes the plane with the node (drain, then close): listening and relay ports are free again', async () => {
    const c = await client(strict);
    const allocation = await c.allocate();
    expect(allocation.code).toBe(200);
    const relayPort = relayedAddress(allocation).port;
    expect(await canBind(relayPort)).toBe(false);
    await strict.node.drain(0);
    await strict.close();
    await until(() => canBind(strict.turnPort), 5_000, 'the TURN port free again');
    await until(() => canBind(relayPort), 5_000, 'the relay port free again');
    expect(() => strict.counters()).toThrow(/closed/i);
  });
});

describe.skipIf(NATIVE_UNAVAILABLE !== null)(
  'TURN_DATA_PLANE=native: permissions, accounting, relay end',
  () => {
    it('drops an unpermitted peer, relays a permitted one and ChannelData both ways, counts it all, frees the port', async () => {
      const c = await client(open);
      const allocation = await c.allocate();
      expect(allocation.code).toBe(200);
      const relay = relayedAddress(allocation);
      const stranger = await peerSocket('127.0.0.1');
      const friend = await peerSocket('127.0.0.2');
      const bytesBefore = await scrapeSum(open.metricsUrl, 'icegate_relayed_bytes_total');
      const packetsBefore = await scrapeSum(open.metricsUrl, 'icegate_relayed_packets_total');
      const before = open.counters();

      expect((await c.createPermission(friend.address)).code).toBe(200);
      // The stranger's datagram reaches the relay first; the friend's is relayed after it, so once
      // the friend's has arrived the stranger's has been dealt with.
      stranger.socket.send(Buffer.from('from the stranger'), relay.port, relay.address);
      await until(() => open.counters().droppedNoPermission > before.droppedNoPermission, 5_000, 'the drop');
      friend.socket.send(Buffer.from('from the friend'), relay.port, relay.address);
      const indication = await c.receiveRelayed((r) => r.kind === 'data-indication', 5_000);
      expect(indication.data.toString()).toBe('from the friend');
      await fence(c);
      expect(c.inbox.filter((d) => d.includes(Buffer.from('stranger')))).toEqual([]);

      // ChannelData both ways through the plane (a channel number every plane takes).
      expect((await c.channelBind(0x4001, friend.address)).code).toBe(200);
      c.channelData(0x4001, Buffer.from('client to friend'));
      await until(() => friend.inbox.length > 0, 5_000, 'the ChannelData payload at the peer');
      expect(friend.inbox.map(String)).toEqual(['client to friend']);
      friend.socket.send(Buffer.from('friend to client!'), relay.port, relay.address);
      const framed = await c.receiveRelayed((r) => r.kind === 'channel-data' && r.channel === 0x4001, 5_000);
      expect(framed.data.toString()).toBe('friend to client!');
      // A data thread counts a batch after its sendmmsg returns: the client can hold the datagram first.
      await expect
        .poll(() => open.counters().sentChannelData - before.sentChannelData, { timeout: 2_000 })
        .toBe(1);
      const after = open.counters();
      expect(after.sentToPeer - before.sentToPeer).toBeGreaterThanOrEqual(1);
      expect(after.sentChannelData - before.sentChannelData).toBe(1);
      expect(after.sentDataIndication - before.sentDataIndication).toBe(1);
      expect(open.node.relay.native?.movedToJs).toBe(0);

      // A Send indication to the friend (relayed by the plane, or by the core through it).
      c.sendIndication(friend.address, Buffer.from('sent'));
      await until(() => friend.inbox.length > 1, 5_000, 'the Send indication payload at the peer');

      // The allocation ends: the plane's last counts are collected before its relay closes.
      const lines = open.logger.lines.length;
      expect((await c.refresh(0)).code).toBe(200);
      const toClient = 'from the friend'.length + 'friend to client!'.length;
      const toPeer = 'client to friend'.length + 'sent'.length;
      expect((await scrapeSum(open.metricsUrl, 'icegate_relayed_bytes_total')) - bytesBefore).toBe(
        toClient + toPeer,
      );
      expect((await scrapeSum(open.metricsUrl, 'icegate_relayed_packets_total')) - packetsBefore).toBe(4);
      const ended = open.logger.lines.slice(lines).find((l) => l.message === 'allocation ended');
      expect(ended?.fields).toMatchObject({
        bytesToClient: toClient,
        bytesToPeer: toPeer,
        packetsToClient: 2,
        packetsToPeer: 2,
      });
      // Usage accounting (issue 6) got the same bytes.
      await open.node.usage.flush();
      const today = jstDateOf(new Date());
      const rows = await open.node.store.usage(today, today);
      expect(rows.find((r) => r.tenant === 'acme')?.bytesRelayed).toBe(toClient + toPeer);

      // The native relay socket is gone: its port can be bound again.
      expect(open.node.relay.native?.nativeRelayCount).toBe(0);
      await until(() => canBind(relay.port), 5_000, `port ${relay.port} free again`);
    });
  },
);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.close();
      resolve(true);
    });
  });
}
