// TCP clients on the native plane (issue 19): the plane accepts, frames and relays; the TURN core
// sees the same FiveTuples as with the JS StreamListener. Framing at every byte boundary, many
// frames per read, slow readers, limits, idle and garbage connections, the end of a connection
// ending its allocation, and random bytes on live connections.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageBuilder, Method, newTransactionId, StunClass } from '../../src/stun/index.js';
import { NativeStreamListener, nativeAddonPath } from '../../src/transport/native/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { relayedAddress, TurnClient } from '../helpers/turn-client.js';

const IDLE_MS = 600;
const hasAddon = nativeAddonPath() !== null && process.env.ICEGATE_NATIVE_STREAMS !== 'js';

let host: TestHost;
let cert: TestCertificate;
const peers: dgram.Socket[] = [];

beforeAll(async () => {
  if (!hasAddon) return;
  cert = await makeTestCertificate();
  host = await startTestHost({
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    relayMin: PORTS.nativeStreams.relayMin,
    relayMax: PORTS.nativeStreams.relayMin + 99,
    // Binding requests are unauthenticated: the slow-reader test sends thousands.
    limits: { unauthenticatedBurst: 100_000, unauthenticatedRate: 100_000 },
    streamLimits: {
      idleTimeoutMs: IDLE_MS,
      handshakeTimeoutMs: IDLE_MS,
      maxConnectionsPerIp: 300,
      maxQueuedBytes: 16 * 1024,
      maxQueuedBytesHard: 64 * 1024,
    },
  });
});

afterAll(async () => {
  for (const peer of peers) peer.close();
  await host?.close();
  await cert?.dispose();
});

function plane() {
  return (host.tcp as NativeStreamListener).plane;
}

function tcpTarget(h: TestHost = host) {
  return { transport: 'tcp' as const, address: '127.0.0.1', port: h.tcp.address.port };
}

async function peerSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  peers.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

async function rawConnection(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let closed = false;
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed: () => closed };
}

/** An allocated client with channel 0x4001 bound to a fresh peer. */
async function allocatedClient(h: TestHost = host) {
  const { username, password } = h.credential('acme');
  const turn = await TurnClient.open({ ...tcpTarget(h), username, password });
  const peer = await peerSocket();
  const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
  const allocated = await turn.allocate();
  expect(allocated.code).toBe(200);
  const relay = relayedAddress(allocated);
  expect((await turn.channelBind(0x4001, peerAddress)).code).toBe(200);
  return { turn, peer, relay };
}

function channelData(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasAddon)('TCP clients on the native plane', () => {
  it('serves TCP on the native plane and relays both ways without the core', async () => {
    expect(host.tcp).toBeInstanceOf(NativeStreamListener);
    const before = plane().counters();
    const { turn, peer, relay } = await allocatedClient();
    try {
      const got: string[] = [];
      peer.on('message', (m) => got.push(m.toString()));
      for (let i = 0; i < 20; i++) turn.channelData(0x4001, Buffer.from(`up-${i}`));
      await expect.poll(() => got.length, { timeout: 2000 }).toBe(20);
      expect(got[0]).toBe('up-0');
      // Odd lengths: the plane pads ChannelData to 4 over the stream (RFC 8656 §12.5).
      peer.send(Buffer.from('down'), relay.port, relay.address);
      peer.send(Buffer.from('odd-5'), relay.port, relay.address);
      const a = await turn.receive(
        (f) => f.readUInt16BE(0) === 0x4001 && f.subarray(4).toString() === 'down',
      );
      const b = await turn.receive(
        (f) => f.readUInt16BE(0) === 0x4001 && f.subarray(4).toString() === 'odd-5',
      );
      expect(a.readUInt16BE(2)).toBe(4);
      expect(b.readUInt16BE(2)).toBe(5);
      const after = plane().counters();
      expect(after.sentToPeer - before.sentToPeer).toBe(20);
      expect(after.sentChannelData - before.sentChannelData).toBe(2);
      expect(host.host.native?.nativeRelayCount).toBeGreaterThan(0);
    } finally {
      turn.close();
    }
  });

  it('cuts frames split across reads at every byte boundary', async () => {
    const { turn, peer } = await allocatedClient();
    try {
      const got: string[] = [];
      peer.on('message', (m) => got.push(m.toString()));
      const binding = () => new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build();
      const first = channelData(0x4001, Buffer.from('split'));
      const frameLength = first.length + binding().length;
      for (let cut = 1; cut < frameLength; cut++) {
        const request = binding();
        const bytes = Buffer.concat([
          channelData(0x4001, Buffer.from(`s${String(cut).padStart(4, '0')}`)),
          request,
        ]);
        turn.stream.write(bytes.subarray(0, cut));
        await sleep(8);
        turn.stream.write(bytes.subarray(cut));
        const tid = request.subarray(8, 20);
        await turn.receive((f) => f.readUInt16BE(0) === 0x0101 && f.subarray(8, 20).equals(tid));
      }
      await expect.poll(() => got.length, { timeout: 2000 }).toBe(frameLength - 1);
      expect(got).toEqual(
        Array.from({ length: frameLength - 1 }, (_, i) => `s${String(i + 1).padStart(4, '0')}`),
      );
      expect(turn.closed).toBe(false);
    } finally {
      turn.close();
    }
  });

  it('relays many frames that arrive in one read, in order, and answers a request among them', async () => {
    const { turn, peer } = await allocatedClient();
    try {
      const got: number[] = [];
      peer.on('message', (m) => got.push(m.readUInt32BE(0)));
      const request = new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build();
      const frames: Buffer[] = [];
      // 120 datagrams fit the peer's default receive buffer: none lost on loopback.
      const before = plane().counters().sentToPeer;
      for (let i = 0; i < 120; i++) {
        const payload = Buffer.alloc(4 + (i % 7));
        payload.writeUInt32BE(i, 0);
        frames.push(channelData(0x4001, payload));
        if (i === 60) frames.push(request);
      }
      turn.stream.write(Buffer.concat(frames));
      const tid = request.subarray(8, 20);
      await turn.receive((f) => f.readUInt16BE(0) === 0x0101 && f.subarray(8, 20).equals(tid));
      await expect.poll(() => got.length, { timeout: 3000 }).toBe(120);
      expect(got).toEqual(Array.from({ length: 120 }, (_, i) => i));
      expect(plane().counters().sentToPeer - before).toBe(120);
    } finally {
      turn.close();
    }
  });

  it('ends the allocation when the connection closes', async () => {
    const { turn, relay } = await allocatedClient();
    const relays = plane().counters().relays;
    const deleted = host.record.deleted.length;
    turn.close();
    await expect
      .poll(() => host.record.deleted.slice(deleted).map((d) => d.reason), { timeout: 2000 })
      .toEqual(['transport-closed']);
    expect(plane().counters().relays).toBe(relays - 1);
    expect(host.record.deleted.at(-1)!.allocation.relay.port).toBe(relay.port);
  });

  it('drops relayed data to a client that stops reading, and closes it past the hard limit', async () => {
    const { turn, peer, relay } = await allocatedClient();
    try {
      const dropped = host.tcp.stats.droppedToClient;
      const slow = host.tcp.stats.closedSlow;
      turn.stream.pause();
      const payload = Buffer.alloc(1200, 7);
      for (let burst = 0; burst < 100 && host.tcp.stats.droppedToClient === dropped; burst++) {
        for (let i = 0; i < 200; i++) peer.send(payload, relay.port, relay.address);
        await sleep(5);
      }
      await expect.poll(() => host.tcp.stats.droppedToClient, { timeout: 3000 }).toBeGreaterThan(dropped);
      expect(host.tcp.stats.closedSlow).toBe(slow);
      // Responses are never dropped: past maxQueuedBytesHard the connection ends instead. The peer
      // keeps the kernel's buffers full (they grow while the client's window does).
      const bindings = () =>
        Buffer.concat(
          Array.from({ length: 300 }, () =>
            new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build(),
          ),
        );
      for (let round = 0; round < 200 && host.tcp.stats.closedSlow === slow; round++) {
        for (let i = 0; i < 100; i++) peer.send(payload, relay.port, relay.address);
        turn.stream.write(bindings());
        await sleep(10);
      }
      await expect.poll(() => host.tcp.stats.closedSlow, { timeout: 5000 }).toBe(slow + 1);
      turn.stream.resume();
      await turn.waitClosed(3000);
    } finally {
      turn.close();
    }
  });

  it('refuses connections beyond the per-IP and the total limits at accept', async () => {
    const limited = await startTestHost({
      relayMin: PORTS.nativeStreams.relayMin + 100,
      relayMax: PORTS.nativeStreams.relayMax,
      streamLimits: { maxConnectionsPerIp: 3, maxConnections: 5 },
    });
    const open: { socket: net.Socket; closed: () => boolean }[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await rawConnection(limited.tcp.address.port));
      await expect.poll(() => limited.tcp.stats.connections, { timeout: 2000 }).toBe(3);
      const fourth = await rawConnection(limited.tcp.address.port);
      await expect.poll(fourth.closed, { timeout: 2000 }).toBe(true);
      expect(limited.tcp.stats.refusedPerIp).toBe(1);
      expect(limited.tcp.stats.connections).toBe(3);
      // 127.0.0.2 is another IP on loopback: two more fit, the sixth connection is over the total.
      const other = (): Promise<{ socket: net.Socket; closed: () => boolean }> =>
        new Promise((resolve, reject) => {
          const socket = net.connect({
            host: '127.0.0.1',
            port: limited.tcp.address.port,
            localAddress: '127.0.0.2',
          });
          let closed = false;
          socket.on('error', () => {});
          socket.on('close', () => {
            closed = true;
          });
          socket.once('connect', () => resolve({ socket, closed: () => closed }));
          socket.once('error', reject);
        });
      open.push(await other(), await other());
      await expect.poll(() => limited.tcp.stats.connections, { timeout: 2000 }).toBe(5);
      const sixth = await other();
      await expect.poll(sixth.closed, { timeout: 2000 }).toBe(true);
      expect((limited.tcp as NativeStreamListener).plane.counters().streamRefusedMax).toBe(1);
      expect(open.every((c) => !c.closed())).toBe(true);
    } finally {
      for (const c of open) c.socket.destroy();
      await limited.close();
    }
  });

  it('closes an idle connection without an allocation, and keeps one with an allocation', async () => {
    const idle = host.tcp.stats.closedIdle;
    const silent = await rawConnection(host.tcp.address.port);
    const { turn } = await allocatedClient();
    try {
      const started = Date.now();
      await expect.poll(silent.closed, { timeout: IDLE_MS + 2000 }).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100);
      expect(host.tcp.stats.closedIdle).toBe(idle + 1);
      await sleep(IDLE_MS * 2);
      expect(turn.closed).toBe(false);
      expect((await turn.binding()).code).toBe(200);
    } finally {
      turn.close();
    }
  });

  it('closes a connection that sends bytes that are neither STUN nor ChannelData', async () => {
    const framing = host.tcp.stats.closedFraming;
    const garbage = await rawConnection(host.tcp.address.port);
    garbage.socket.write(Buffer.from([0x80, 0x01, 0x00, 0x10, 1, 2, 3, 4]));
    await expect.poll(garbage.closed, { timeout: 2000 }).toBe(true);
    const badCookie = await rawConnection(host.tcp.address.port);
    badCookie.socket.write(Buffer.from([0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4]));
    await expect.poll(badCookie.closed, { timeout: 2000 }).toBe(true);
    expect(host.tcp.stats.closedFraming).toBe(framing + 2);
  });

  it('survives random bytes on many connections and keeps relaying', async () => {
    const valid = new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build();
    const connections = await Promise.all(
      Array.from({ length: 100 }, () => rawConnection(host.tcp.address.port)),
    );
    for (let round = 0; round < 20; round++) {
      connections.forEach((c, i) => {
        if (c.closed()) return;
        const kind = (i + round) % 4;
        let bytes: Buffer;
        if (kind === 0) bytes = randomBytes(1 + Math.floor(Math.random() * 3000));
        else if (kind === 1) {
          // ChannelData-looking, lying lengths, channels in and out of any binding.
          bytes = randomBytes(4 + Math.floor(Math.random() * 200));
          bytes[0] = 0x40 | (bytes[0]! & 0x3f);
        } else if (kind === 2) {
          // A valid request with bit flips.
          bytes = Buffer.from(valid);
          bytes[Math.floor(Math.random() * bytes.length)]! ^= 1 << Math.floor(Math.random() * 8);
        } else {
          // A STUN header with the cookie and a random body length.
          bytes = Buffer.concat([valid.subarray(0, 20), randomBytes(Math.floor(Math.random() * 100))]);
          bytes.writeUInt16BE(Math.floor(Math.random() * 0x4000) * 4, 2);
        }
        c.socket.write(bytes);
      });
      await sleep(10);
    }
    for (const c of connections) c.socket.destroy();
    const { turn, peer, relay } = await allocatedClient();
    try {
      const received = new Promise<Buffer>((resolve) => peer.once('message', resolve));
      turn.channelData(0x4001, Buffer.from('after'));
      expect((await received).toString()).toBe('after');
      peer.send(Buffer.from('back'), relay.port, relay.address);
      await turn.receive((f) => f.readUInt16BE(0) === 0x4001 && f.subarray(4).toString() === 'back');
    } finally {
      turn.close();
    }
    expect(host.record.errors).toEqual([]);
    await expect.poll(() => host.tcp.stats.connections, { timeout: 3000 }).toBe(0);
  });

  it('serves TLS on the native plane: relays both ways, one record per frame, handshake timeout', async () => {
    expect(host.tls).toBeInstanceOf(NativeStreamListener);
    const tlsPlane = (host.tls as NativeStreamListener).plane;
    const before = tlsPlane.counters();
    const { username, password } = host.credential('acme');
    const turn = await TurnClient.open({
      transport: 'tls',
      address: '127.0.0.1',
      port: host.tls!.address.port,
      username,
      password,
    });
    try {
      const peer = await peerSocket();
      const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
      const allocated = await turn.allocate();
      expect(allocated.code).toBe(200);
      const relay = relayedAddress(allocated);
      expect((await turn.channelBind(0x4005, peerAddress)).code).toBe(200);
      const got: string[] = [];
      peer.on('message', (m) => got.push(m.toString()));
      for (let i = 0; i < 10; i++) turn.channelData(0x4005, Buffer.from(`tls-${i}`));
      await expect.poll(() => got.length, { timeout: 2000 }).toBe(10);
      peer.send(Buffer.from('down'), relay.port, relay.address);
      await turn.receive((f) => f.readUInt16BE(0) === 0x4005 && f.subarray(4).toString() === 'down');
      const after = tlsPlane.counters();
      expect(after.sentToPeer - before.sentToPeer).toBe(10);
      expect(after.sentChannelData - before.sentChannelData).toBe(1);
    } finally {
      turn.close();
    }
    const failures = host.tls!.stats.tlsFailures;
    const silent = await rawConnection(host.tls!.address.port);
    await expect.poll(silent.closed, { timeout: IDLE_MS + 2000 }).toBe(true);
    expect(host.tls!.stats.tlsFailures).toBe(failures + 1);
  });
});
