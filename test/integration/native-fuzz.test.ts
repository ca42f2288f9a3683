// TURN_DATA_PLANE=native under hostile input (issue 9: "a malformed packet never crashes the
// process", "quotas"), on a whole node with real sockets on loopback. 20,000 random and mutated
// datagrams (1-byte, truncated headers, ChannelData-looking with lying lengths and channels 0x4000,
// 0x7FFE, 0x7FFF and outside the range, Send-indication-looking with broken attributes, bit flips
// of valid messages) go to the native listener from a stranger and from a client with an
// allocation (its own 5-tuple, which the data threads parse natively), and to the native relay
// port from a permitted and an unpermitted peer. The process survives, the plane counts what it
// dropped, and the allocation still relays both ways afterwards. Then the allocation quota
// (licenses x TURN_ALLOCATIONS_PER_LICENSE) answers 486 beyond it on the native path too.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintCredential, SecretRing } from '../../src/auth/index.js';
import {
  Attr,
  MessageBuilder,
  Method,
  newTransactionId,
  StunClass,
  type TransportAddress,
} from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { relayedAddress, relayedData, sendIndication, type TurnClient } from '../helpers/turn-client.js';
import { DRAIN_ADMIN_SECRET } from './drain-harness.js';
import { admin, ordersAt } from './gate-harness.js';
import {
  announceSkip,
  loopbackTurnClient,
  NATIVE_TURN_SECRET,
  NATIVE_UNAVAILABLE,
  type NativeNode,
  startNativeNode,
  until,
} from './native-harness.js';

announceSkip('native-fuzz.test.ts');

const INPUTS = 20_000;
/** A new seed every run widens the search; it is in every failure message, to replay it. */
const SEED = (Date.now() % 1_000_000_007) >>> 0 || 1;
const CHANNEL = 0x4001;

let node: NativeNode;
const sockets: dgram.Socket[] = [];
const clients: TurnClient[] = [];
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  process.on('uncaughtException', onUncaught);
  // Quota 2 per license: tenant 'acme' (50 licenses) has room for the flood's allocation, and a
  // one-license tenant gets 486 at its third.
  node = await startNativeNode(PORTS.nativeFuzz, { TURN_ALLOCATIONS_PER_LICENSE: '2' });
}, 30_000);

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  for (const s of sockets) s.close();
  await Promise.all(clients.map((c) => c.close()));
  await node?.close();
});

/** xorshift32: reproducible from SEED. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomBytes(next: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

function channelData(channel: number, payload: Buffer, lengthField = payload.length): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(lengthField & 0xffff, 2);
  return Buffer.concat([header, payload]);
}

/** Flips 1-8 random bits of a copy of `valid`, sometimes also cutting it short. */
function mutate(next: () => number, valid: Buffer): Buffer {
  const out = Buffer.from(valid);
  const flips = 1 + (next() % 8);
  for (let i = 0; i < flips; i++) {
    const at = next() % out.length;
    out[at] = (out[at] ?? 0) ^ (1 << (next() % 8));
  }
  return next() % 4 === 0 ? out.subarray(0, next() % out.length) : out;
}

/** One hostile datagram: the kind is chosen at random; `peer` is the permitted peer's address. */
function hostile(next: () => number, peer: TransportAddress): Buffer {
  const payload = () => randomBytes(next, next() % 200);
  switch (next() % 12) {
    case 0:
      return randomBytes(next, 1);
    case 1:
      return randomBytes(next, next() % 4); // shorter than any header, empty included
    case 2:
      return randomBytes(next, 1 + (next() % 1500));
    case 3: {
      // ChannelData-looking: edge channels, a length field that lies either way.
      const channels = [0x4000, CHANNEL, 0x4002, 0x7ffe, 0x7fff, 0x3fff, 0x8000, 0xffff];
      const channel = channels[next() % channels.length]!;
      const body = payload();
      const lies = [body.length, body.length + 1, Math.max(0, body.length - 1), 0, 0xffff, 0x7fff];
      return channelData(channel, body, lies[next() % lies.length]!);
    }
    case 4:
      // The bound channel, truncated inside its header or payload.
      return channelData(CHANNEL, randomBytes(next, 64)).subarray(0, next() % 68);
    case 5:
      // The bound channel with 0x7FFF as length and nothing behind it.
      return channelData(next() % 2 === 0 ? CHANNEL : 0x7fff, Buffer.alloc(0), 0x7fff);
    case 6: {
      // Send-indication-looking: a STUN header (type 0x0016, magic cookie) over random attributes.
      const body = randomBytes(next, next() % 120);
      const header = Buffer.alloc(20);
      header.writeUInt16BE(0x0016, 0);
      header.writeUInt16BE(next() % 3 === 0 ? next() & 0xffff : body.length, 2);
      header.writeUInt32BE(0x2112a442, 4);
      randomBytes(next, 12).copy(header, 8);
      return Buffer.concat([header, body]);
    }
    case 7: {
      // A Send indication whose XOR-PEER-ADDRESS or DATA length lies.
      const valid = sendIndication(peer, payload());
      const at = 20 + 2; // the first attribute's length
      valid.writeUInt16BE(next() & 0xffff, next() % 2 === 0 ? at : Math.min(valid.length - 2, at + 12));
      return valid;
    }
    case 8:
      return mutate(next, sendIndication(peer, payload()));
    case 9:
      return mutate(next, channelData(CHANNEL, payload()));
    case 10: {
      // A Send indication cut anywhere.
      const valid = sendIndication(peer, payload());
      return valid.subarray(0, next() % valid.length);
    }
    default:
      return mutate(
        next,
        new MessageBuilder(StunClass.Request, Method.Allocate, newTransactionId())
          .addText(Attr.USERNAME, 'x'.repeat(next() % 64))
          .build({ fingerprint: true }),
      );
  }
}

async function udpSocket(
  ip: string,
): Promise<{ socket: dgram.Socket; address: TransportAddress; inbox: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const inbox: Buffer[] = [];
  socket.on('message', (data) => {
    if (inbox.length < 50_000) inbox.push(data);
  });
  // A stray ICMP error on a loopback socket must not fail the test.
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, ip, () => resolve()));
  return { socket, address: { family: 'IPv4', address: ip, port: socket.address().port }, inbox };
}

function client(username: string, password: string): Promise<TurnClient> {
  return loopbackTurnClient(node.turnPort, { username, password }, clients);
}

/** The allocation relays both ways through the plane: ChannelData out and in, a Send indication out. */
async function relaysBothWays(
  c: TurnClient,
  friend: { socket: dgram.Socket; address: TransportAddress; inbox: Buffer[] },
  relay: TransportAddress,
  tag: string,
): Promise<void> {
  const out = Buffer.from(`${tag}: client to friend`);
  c.channelData(CHANNEL, out);
  await until(() => friend.inbox.some((d) => d.equals(out)), 5_000, `${tag}: ChannelData at the peer`);
  const back = Buffer.from(`${tag}: friend to client`);
  friend.socket.send(back, relay.port, relay.address);
  const framed = await c.receive(
    (d) =>
      d.length >= 4 && d.readUInt16BE(0) === CHANNEL && d.subarray(4, 4 + d.readUInt16BE(2)).equals(back),
    5_000,
  );
  expect(framed.readUInt16BE(2)).toBe(back.length);
  const sent = Buffer.from(`${tag}: send indication`);
  c.sendIndication(friend.address, sent);
  await until(() => friend.inbox.some((d) => d.equals(sent)), 5_000, `${tag}: Send indication at the peer`);
}

describe.skipIf(NATIVE_UNAVAILABLE !== null)('TURN_DATA_PLANE=native under hostile input', () => {
  it(`survives ${INPUTS} malformed datagrams on its listener and relay port, and relays afterwards`, async () => {
    const replay = `seed ${SEED}`;
    expect(node.node.relay.native, replay).not.toBeNull();
    const { username, password } = node.credential();
    const victim = await client(username, password);
    const allocation = await victim.allocate();
    expect(allocation.code, replay).toBe(200);
    const relay = relayedAddress(allocation);
    const friend = await udpSocket('127.0.0.2');
    const stranger = await udpSocket('127.0.0.1');
    const attacker = await udpSocket('127.0.0.1');
    expect((await victim.createPermission(friend.address)).code, replay).toBe(200);
    expect((await victim.channelBind(CHANNEL, friend.address)).code, replay).toBe(200);
    await relaysBothWays(victim, friend, relay, 'before');
    const before = node.counters();

    const next = rng(SEED);
    const deadline = Date.now() + 60_000;
    let sent = 0;
    while (sent < INPUTS && Date.now() < deadline) {
      // Batches of 100, then a turn of the event loop: the node's own JS runs in this process.
      for (let i = 0; i < 100 && sent < INPUTS; i++, sent++) {
        const datagram = hostile(next, friend.address);
        switch (sent % 4) {
          case 0: // a stranger to the listener (no allocation: the control path)
            attacker.socket.send(datagram, node.turnPort, '127.0.0.1');
            break;
          case 1: // the allocation's own 5-tuple (the data threads parse its ChannelData)
            victim.send(datagram);
            break;
          case 2: // a permitted peer to the relay port (relayed to the client as it is)
            friend.socket.send(datagram, relay.port, relay.address);
            break;
          default: // a peer without a permission to the relay port
            stranger.socket.send(datagram, relay.port, relay.address);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(sent, replay).toBe(INPUTS);

    // Still alive: the control path answers, and the allocation relays both ways through the plane.
    // (An authenticated Refresh: the flood spent 127.0.0.1's unauthenticated answer budget, so a
    // Binding request may rightly go unanswered for a while, TURN_UNAUTH_BURST/RATE.)
    expect((await victim.refresh(600)).code, replay).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The unpermitted peer's datagrams never reached the client: the permitted peer's arrive as
    // ChannelData (its channel is bound), so no Data indication may be in the client's inbox.
    expect(victim.inbox.filter((d) => relayedData(d)?.kind === 'data-indication').length, replay).toBe(0);
    expect(victim.inbox.length, replay).toBeGreaterThan(0);
    victim.inbox.length = 0;
    friend.inbox.length = 0;
    await relaysBothWays(victim, friend, relay, 'after');
    expect(uncaught, replay).toEqual([]);
    expect(
      node.logger.lines.filter((l) => l.level === 'error'),
      replay,
    ).toEqual([]);

    // The plane saw the flood and dropped what it had to (never trusted, never relayed blindly).
    const after = node.counters();
    expect(after.received - before.received, replay).toBeGreaterThan(0);
    expect(after.clientReceived - before.clientReceived, replay).toBeGreaterThan(0);
    expect(after.droppedNoPermission - before.droppedNoPermission, replay).toBeGreaterThan(0);
    expect(
      after.droppedMalformed -
        before.droppedMalformed +
        (after.droppedUnboundChannel - before.droppedUnboundChannel) +
        (after.handedToControl - before.handedToControl),
      replay,
    ).toBeGreaterThan(0);
    expect(node.node.relay.native?.movedToJs, replay).toBe(0);
    expect((await victim.refresh(0)).code, replay).toBe(200);
  }, 120_000);

  it('answers 486 beyond the allocation quota (1 license x 2) on native relays', async () => {
    await tenantWithKeyOn(node.url, 'solo');
    const ring = new SecretRing([NATIVE_TURN_SECRET]);
    const minted = mintCredential(ring, { tenant: 'solo', ttlSeconds: 3600, now: Date.now() });
    const first = await client(minted.username, minted.password);
    const second = await client(minted.username, minted.password);
    const third = await client(minted.username, minted.password);
    expect((await first.allocate()).code).toBe(200);
    expect((await second.allocate()).code).toBe(200);
    expect(node.node.relay.native?.nativeRelayCount).toBeGreaterThanOrEqual(2);
    expect((await third.allocate()).code).toBe(486);
    expect(node.node.relay.core.tenantLoad('solo')).toBe(2);
    // A freed slot can be taken again, still natively.
    expect((await first.refresh(0)).code).toBe(200);
    await until(() => node.node.relay.core.tenantLoad('solo') === 1, 5_000, 'the freed slot');
    expect((await third.allocate()).code).toBe(200);
    expect((await first.allocate()).code).toBe(486);
  });
});

/** Tenant `tenant` with one license in force, through the admin API of a native node. */
async function tenantWithKeyOn(url: string, tenant: string): Promise<void> {
  const imported = await admin(
    url,
    'POST',
    '/v1/admin/orders',
    { tenant, orders: ordersAt.active(Date.now(), 1) },
    DRAIN_ADMIN_SECRET,
  );
  if (imported.status !== 200) throw new Error(`import of ${tenant}: ${imported.status}`);
}
