// Expiry on the native path matches the TypeScript core (issue 9), with a controlled clock: once a
// peer's permission has expired (RFC 8656 §9, 300 s) while its channel is still bound (§12, 600 s),
// ChannelData from the client on that channel is still relayed to the peer (§12.6: only the
// peer -> client direction is gated by permission), and the peer's datagrams no longer reach the
// client. The same scenario runs on the JS path and on the native one, which must agree; on the
// native one the plane's counters show the data threads did it.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import type { TransportAddress } from '../../src/stun/index.js';
import { TurnHost } from '../../src/transport/index.js';
import { loadNativeDataPlane, type NativeRelayPlane } from '../../src/transport/native/index.js';
import type { DropReason } from '../../src/turn/index.js';
import { PeerFilter } from '../../src/turn/peer-filter/index.js';
import { PORTS } from '../helpers/ports.js';
import { relayedAddress, TestTurnClient } from '../helpers/turn-client.js';
import { announceSkip, NATIVE_UNAVAILABLE, until } from './native-harness.js';

announceSkip('native-expiry.test.ts');

const PORTS_BLOCK = PORTS.nativeExpiry;
const CHANNEL = 0x6123; // above 0x4FFF, as RFC 5766 clients pick
const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function channelData(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

interface Setup {
  host: TurnHost;
  plane: NativeRelayPlane | null;
  drops: DropReason[];
  advance(ms: number): void;
  client: TestTurnClient;
  peer: dgram.Socket;
  peerAddress: TransportAddress;
  inbox: Buffer[];
}

async function setup(mode: 'native' | 'js'): Promise<Setup> {
  let now = Date.now();
  const secrets = new SecretRing(['native-expiry-secret']);
  const filter = new PeerFilter({ allowLoopback: true });
  const drops: DropReason[] = [];
  const dataPlane = mode === 'native' ? loadNativeDataPlane() : null;
  if (mode === 'native' && dataPlane === null) throw new Error('native addon not loadable');
  const host = new TurnHost({
    relays: [{ bindIp: '127.0.0.1' }],
    minPort: PORTS_BLOCK.relayMin,
    maxPort: PORTS_BLOCK.relayMax,
    // Ticks are driven by the test (core.tick()) after moving the clock; the timer's are harmless.
    tickMs: 60_000,
    ...(dataPlane === null ? {} : { dataPlane }),
    turn: {
      realm: 'icegate',
      software: 'icegate-test',
      secrets,
      nonces: new NonceFactory(NonceFactory.randomKey()),
      clock: () => now,
      policy: { checkPeer: (address) => filter.check(address) },
      events: { packetDropped: (reason) => drops.push(reason) },
      limits: { defaultLifetime: 3600, maxLifetime: 3600 },
    },
  });
  closers.push(() => host.close());
  const listener =
    mode === 'native' ? await host.listenNativeUdp('127.0.0.1', 0) : await host.listenUdp('127.0.0.1', 0);
  const plane = mode === 'native' && 'plane' in listener ? listener.plane : null;
  const minted = mintCredential(secrets, { tenant: 'acme', ttlSeconds: 7200, now: Date.now() });
  const client = await TestTurnClient.open(listener.address, minted.username, minted.password);
  closers.push(() => client.close());
  const peer = dgram.createSocket('udp4');
  closers.push(() => {
    peer.close();
  });
  const inbox: Buffer[] = [];
  peer.on('message', (data) => inbox.push(data));
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  return {
    host,
    plane,
    drops,
    advance: (ms) => {
      now += ms;
    },
    client,
    peer,
    peerAddress: { family: 'IPv4', address: '127.0.0.1', port: peer.address().port },
    inbox,
  };
}

async function expiredPermissionBoundChannel(mode: 'native' | 'js') {
  const s = await setup(mode);
  const allocation = await s.client.allocate();
  expect(allocation.code).toBe(200);
  const relay = relayedAddress(allocation);
  // ChannelBind installs the permission (300 s) and the binding (600 s), RFC 8656 §12.
  expect((await s.client.channelBind(CHANNEL, s.peerAddress)).code).toBe(200);
  s.client.send(channelData(CHANNEL, Buffer.from('before')));
  await until(() => s.inbox.length === 1, 5_000, 'the first payload at the peer');

  // 301 s later the permission has expired, the binding has not; the tick pushes the new table.
  s.advance(301_000);
  s.host.core.tick();
  const before = s.plane?.counters();
  const threadsBefore = s.plane?.info().workers.reduce((sum, w) => sum + w.sentToPeer, 0) ?? 0;

  // Peer -> client: dropped for want of a permission (§9).
  const dropsBefore = s.drops.filter((d) => d === 'no-permission').length;
  s.peer.send(Buffer.from('from the peer'), relay.port, relay.address);
  if (s.plane !== null) {
    const plane = s.plane;
    await until(
      () => plane.counters().droppedNoPermission > (before?.droppedNoPermission ?? 0),
      5_000,
      'the native drop',
    );
  } else {
    await until(
      () => s.drops.filter((d) => d === 'no-permission').length > dropsBefore,
      5_000,
      'the core drop',
    );
  }

  // Client -> peer on the bound channel: relayed (§12.6).
  s.client.send(channelData(CHANNEL, Buffer.from('after expiry')));
  await until(() => s.inbox.length === 2, 5_000, 'the ChannelData payload after the permission expired');
  expect(s.inbox.map(String)).toEqual(['before', 'after expiry']);
  // Nothing from the peer reached the client.
  expect((await s.client.binding()).code).toBe(200);
  expect(s.client.inbox.some((d) => d.includes(Buffer.from('from the peer')))).toBe(false);
  if (s.plane !== null && before !== undefined) {
    const after = s.plane.counters();
    // The data thread relayed it (and counts it right after sendmmsg returns), the core never saw it.
    const plane = s.plane;
    await until(
      () => plane.info().workers.reduce((sum, w) => sum + w.sentToPeer, 0) - threadsBefore === 1,
      5_000,
      'the data thread to count its send',
    );
    expect(after.handedToControl - before.handedToControl).toBe(1); // the Binding request only
    expect(after.droppedUnboundChannel - before.droppedUnboundChannel).toBe(0);
    expect(s.host.native?.movedToJs).toBe(0);
  }
}

describe('channel bound, permission expired: the JS path (the reference)', () => {
  it('relays client ChannelData to the bound peer and drops the peer', async () => {
    await expiredPermissionBoundChannel('js');
  });
});

describe.skipIf(NATIVE_UNAVAILABLE !== null)('channel bound, permission expired: the native path', () => {
  it('does what the core does, on the data threads', async () => {
    await expiredPermissionBoundChannel('native');
  });
});
