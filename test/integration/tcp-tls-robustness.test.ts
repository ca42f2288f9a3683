// No stream client holds up the others (issue 5): a TLS client sending garbage, a TCP client that
// sends half a frame and stops, 200 idle TCP connections, a client over its IP's connection limit
// and a client that stops reading all leave the server serving another client, and every bad
// connection is closed within a bounded time.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageBuilder, Method, newTransactionId, StunClass } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { relayedAddress, type StreamTarget, TurnClient } from '../helpers/turn-client.js';

/** Short, so idle connections are closed within the test. */
const IDLE_MS = 1500;

let cert: TestCertificate;
let host: TestHost;
const peers: dgram.Socket[] = [];

beforeAll(async () => {
  cert = await makeTestCertificate();
  host = await startTestHost({
    relayMin: PORTS.tcpTlsRobustness.relayMin,
    relayMax: PORTS.tcpTlsRobustness.relayMax,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    streamLimits: {
      idleTimeoutMs: IDLE_MS,
      handshakeTimeoutMs: IDLE_MS,
      maxConnectionsPerIp: 250,
      maxQueuedBytes: 64 * 1024,
      maxQueuedBytesHard: 256 * 1024,
    },
  });
});

afterAll(async () => {
  for (const peer of peers) peer.close();
  await host?.close();
  await cert?.dispose();
});

function target(transport: 'tcp' | 'tls'): StreamTarget {
  const listener = transport === 'tcp' ? host.tcp : host.tls!;
  return { transport, address: '127.0.0.1', port: listener.address.port };
}

async function peerSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  peers.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

/** A client that allocates, binds a channel to a fresh peer and relays one message each way. */
async function serveAnotherClient(transport: 'tcp' | 'tls'): Promise<void> {
  const { username, password } = host.credential('acme');
  const turn = await TurnClient.open({ ...target(transport), username, password });
  try {
    const peer = await peerSocket();
    const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
    const allocated = await turn.allocate();
    expect(allocated.code).toBe(200);
    const relay = relayedAddress(allocated);
    expect((await turn.channelBind(0x4002, peerAddress)).code).toBe(200);
    const received = new Promise<Buffer>((resolve) => peer.once('message', resolve));
    turn.channelData(0x4002, Buffer.from('ping'));
    expect((await received).toString()).toBe('ping');
    peer.send(Buffer.from('pong'), relay.port, relay.address);
    const frame = await turn.receive((f) => f.readUInt16BE(0) === 0x4002);
    expect(frame.subarray(4, 8).toString()).toBe('pong');
  } finally {
    turn.close();
  }
}

/** A raw TCP connection to `port`, with a flag that turns true once the server closes it. */
async function rawConnection(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
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

describe('stream listeners under bad clients', () => {
  it('closes a TLS connection that sends garbage, and serves others meanwhile', async () => {
    const failures = host.tls!.stats.tlsFailures;
    const garbage = await rawConnection(host.tls!.address.port);
    garbage.socket.write(randomBytes(3000));
    await serveAnotherClient('tls');
    await expect.poll(garbage.closed, { timeout: 2000 }).toBe(true);
    expect(host.tls!.stats.tlsFailures).toBe(failures + 1);
  });

  it('closes a TCP connection that sends bytes that are neither STUN nor ChannelData', async () => {
    const closedFraming = host.tcp.stats.closedFraming;
    const garbage = await rawConnection(host.tcp.address.port);
    garbage.socket.write(Buffer.from([0xff, 0x00, 0x00, 0x10, 1, 2, 3, 4]));
    await expect.poll(garbage.closed, { timeout: 2000 }).toBe(true);
    expect(host.tcp.stats.closedFraming).toBe(closedFraming + 1);
  });

  it('closes a TCP client that sends half a frame and stops, after the idle timeout', async () => {
    const request = new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build();
    const half = await rawConnection(host.tcp.address.port);
    const started = Date.now();
    half.socket.write(request.subarray(0, 12));
    await serveAnotherClient('tcp');
    expect(half.closed()).toBe(false);
    await expect.poll(half.closed, { timeout: IDLE_MS + 2000 }).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100);
  });

  it('closes a TLS client that never finishes its handshake', async () => {
    const silent = await rawConnection(host.tls!.address.port);
    await serveAnotherClient('tls');
    await expect.poll(silent.closed, { timeout: IDLE_MS + 2000 }).toBe(true);
  });

  it('keeps serving with 200 idle TCP connections open, and closes them when idle', async () => {
    const idleBefore = host.tcp.stats.closedIdle;
    const idle = await Promise.all(Array.from({ length: 200 }, () => rawConnection(host.tcp.address.port)));
    await expect.poll(() => host.tcp.stats.connections, { timeout: 2000 }).toBeGreaterThanOrEqual(200);
    await serveAnotherClient('tcp');
    await serveAnotherClient('tls');
    await expect.poll(() => idle.every((c) => c.closed()), { timeout: IDLE_MS + 3000 }).toBe(true);
    expect(host.tcp.stats.closedIdle - idleBefore).toBeGreaterThanOrEqual(200);
    expect(host.tcp.stats.connections).toBe(0);
  });

  it('refuses connections beyond the per-IP limit at accept', async () => {
    const refused = host.tcp.stats.refusedPerIp;
    const open = await Promise.all(Array.from({ length: 250 }, () => rawConnection(host.tcp.address.port)));
    await expect.poll(() => host.tcp.stats.connections, { timeout: 2000 }).toBe(250);
    const extra = await rawConnection(host.tcp.address.port);
    await expect.poll(extra.closed, { timeout: 2000 }).toBe(true);
    expect(host.tcp.stats.refusedPerIp).toBe(refused + 1);
    for (const c of open) c.socket.destroy();
    await expect.poll(() => host.tcp.stats.connections, { timeout: 2000 }).toBe(0);
    await serveAnotherClient('tcp');
  });

  it('keeps an idle connection that holds an allocation open past the idle timeout', async () => {
    const { username, password } = host.credential('acme');
    const turn = await TurnClient.open({ ...target('tcp'), username, password });
    try {
      expect((await turn.allocate()).code).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 2 + 300));
      expect(turn.closed).toBe(false);
      expect((await turn.binding()).code).toBe(200);
    } finally {
      turn.close();
    }
  });

  it('closes a silent connection once its allocation has expired', async () => {
    const shortLived = await startTestHost({
      relayMin: PORTS.tcpTlsRobustness.relayMin + 50,
      relayMax: PORTS.tcpTlsRobustness.relayMax,
      limits: { defaultLifetime: 1, maxLifetime: 1 },
      streamLimits: { idleTimeoutMs: IDLE_MS },
      tickMs: 100,
    });
    const { username, password } = shortLived.credential('acme');
    const turn = await TurnClient.open({
      transport: 'tcp',
      address: '127.0.0.1',
      port: shortLived.tcp.address.port,
      username,
      password,
    });
    try {
      expect((await turn.allocate()).code).toBe(200);
      await expect
        .poll(() => shortLived.record.deleted.map((d) => d.reason), { timeout: 3000 })
        .toEqual(['expired']);
      expect(turn.closed).toBe(false);
      await turn.waitClosed(IDLE_MS * 2 + 1000);
      expect(shortLived.tcp.stats.closedIdle).toBe(1);
    } finally {
      turn.close();
      await shortLived.close();
    }
  });

  it('drops relayed data to a client that stops reading, bounding its queue, and serves others', async () => {
    const dropped = host.tcp.stats.droppedToClient;
    const { username, password } = host.credential('acme');
    const slow = await TurnClient.open({ ...target('tcp'), username, password });
    try {
      const peer = await peerSocket();
      const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
      const allocated = await slow.allocate();
      const relay = relayedAddress(allocated);
      expect((await slow.channelBind(0x4003, peerAddress)).code).toBe(200);
      slow.stream.pause();
      // About 24 MB at the relay: more than the loopback socket buffers and the 64 KiB queue.
      const payload = Buffer.alloc(1200, 7);
      for (let burst = 0; burst < 100; burst++) {
        for (let i = 0; i < 200; i++) peer.send(payload, relay.port, relay.address);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await expect.poll(() => host.tcp.stats.droppedToClient, { timeout: 3000 }).toBeGreaterThan(dropped);
      await serveAnotherClient('tcp');
    } finally {
      slow.close();
    }
  });
});
