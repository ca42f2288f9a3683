// The native plane's TCP clients at the addon level (issue 19), also run under ASan+UBSan by
// native/asan-test.sh: frames cut at every split, handed over with the connection id; answers
// through streamSend; relaying both ways once a relay is attached; ends reported; random bytes.
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NativeDataPlane,
  type NativeRelayPlane,
  requireNativeAddon,
  STREAM_EVENT,
} from '../../../src/transport/native/index.js';
import { bound, LOOPBACK, waitFor } from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';
const BINDING_REQUEST = Buffer.from('000100002112a442000102030405060708090a0b', 'hex');
const LIMITS = {
  maxConnections: 100,
  maxConnectionsPerIp: 100,
  idleTimeoutMs: 60_000,
  maxQueuedBytes: 64 * 1024,
  maxQueuedBytesHard: 256 * 1024,
};

interface StreamEvent {
  event: number;
  conn: number;
  data: Buffer | null;
  ip: string;
  port: number;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: LOOPBACK, port });
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function padded(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skipNative)('native plane: TCP clients', () => {
  let plane: NativeRelayPlane;
  let events: StreamEvent[];
  const sockets: net.Socket[] = [];
  const udp: dgram.Socket[] = [];

  beforeEach(() => {
    events = [];
    plane = new NativeDataPlane(requireNativeAddon()).listenStream(
      LOOPBACK,
      0,
      LIMITS,
      (event, conn, data, ip, port) => {
        events.push({ event, conn, data, ip, port });
      },
    );
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const socket of udp.splice(0)) socket.close();
    plane.close();
  });

  it('hands STUN frames over with the connection, answers through streamSend, reports the end', async () => {
    expect(plane.ownsStreamListener).toBe(true);
    const socket = await connect(plane.listenPort ?? 0);
    sockets.push(socket);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(BINDING_REQUEST);
    await waitFor(() => events.length === 1, 2000);
    const first = events[0]!;
    expect(first).toMatchObject({ event: STREAM_EVENT.frame, ip: LOOPBACK, port: socket.localPort });
    expect(first.data).toEqual(BINDING_REQUEST);
    plane.streamSend(first.conn, Buffer.from('answer'));
    await waitFor(() => Buffer.concat(received).toString() === 'answer', 2000);
    socket.end();
    await waitFor(() => events.length === 2, 2000);
    expect(events[1]).toMatchObject({ event: STREAM_EVENT.closed, conn: first.conn, data: null });
    expect(plane.counters().streamConnections).toBe(0);
  });

  it('cuts a STUN frame and a padded ChannelData frame at every split into the same frames', async () => {
    const socket = await connect(plane.listenPort ?? 0);
    sockets.push(socket);
    const channel = padded(0x4abc, Buffer.from('abcde'));
    const bytes = Buffer.concat([BINDING_REQUEST, channel]);
    for (let cut = 1; cut < bytes.length; cut++) {
      socket.write(bytes.subarray(0, cut));
      await sleep(5);
      socket.write(bytes.subarray(cut));
    }
    const frames = (bytes.length - 1) * 2;
    await waitFor(() => events.length === frames, 3000);
    for (let i = 0; i < frames; i += 2) {
      expect(events[i]!.data).toEqual(BINDING_REQUEST);
      // No allocation on this connection: ChannelData goes to TypeScript, without its padding.
      expect(events[i + 1]!.data).toEqual(channel.subarray(0, 9));
    }
    expect(plane.counters().streamFrames).toBe(frames);
  });

  it('relays ChannelData and Send indications to the peer and peer data back once a relay is attached', async () => {
    const socket = await connect(plane.listenPort ?? 0);
    sockets.push(socket);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(BINDING_REQUEST);
    await waitFor(() => events.length === 1, 2000);
    const conn = events[0]!.conn;
    const peer = await bound();
    udp.push(peer);
    const relay = plane.openRelay(LOOPBACK, 0);
    plane.setStreamClient(relay.id, conn);
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4001 }]);
    const atPeer: string[] = [];
    peer.on('message', (m) => atPeer.push(m.toString()));
    socket.write(
      Buffer.concat([
        padded(0x4001, Buffer.from('one')),
        padded(0x4001, Buffer.from('two!')),
        padded(0x4002, Buffer.from('unbound')),
      ]),
    );
    await waitFor(() => atPeer.length === 2, 2000);
    expect(atPeer).toEqual(['one', 'two!']);
    expect(plane.counters().droppedUnboundChannel).toBe(1);
    peer.send(Buffer.from('back'), relay.port, LOOPBACK);
    peer.send(Buffer.from('odd'), relay.port, LOOPBACK);
    const expected = Buffer.concat([padded(0x4001, Buffer.from('back')), padded(0x4001, Buffer.from('odd'))]);
    await waitFor(() => Buffer.concat(received).length >= expected.length, 2000);
    expect(Buffer.concat(received)).toEqual(expected);
    expect(plane.relayTraffic(relay.id)).toMatchObject({ packetsToClient: 2, packetsToPeer: 2 });
    // The connection ends: the relay stays until closed, with nobody to send to.
    socket.destroy();
    await waitFor(() => events.some((e) => e.event === STREAM_EVENT.closed), 2000);
    peer.send(Buffer.from('late'), relay.port, LOOPBACK);
    await waitFor(() => plane.counters().droppedNoClient === 1, 2000);
    expect(plane.closeRelay(relay.id)).toBe(true);
  });

  it('survives random bytes on many connections', async () => {
    const port = plane.listenPort ?? 0;
    const many = await Promise.all(Array.from({ length: 40 }, () => connect(port)));
    sockets.push(...many);
    for (let round = 0; round < 30; round++) {
      many.forEach((socket, i) => {
        if (socket.destroyed) return;
        const bytes = randomBytes(1 + ((i * 37 + round * 11) % 700));
        if ((i + round) % 3 === 0) bytes[0] = 0x40 | (bytes[0]! & 0x3f);
        if ((i + round) % 3 === 1) BINDING_REQUEST.copy(bytes, 0, 0, Math.min(8, bytes.length));
        socket.write(bytes);
      });
      await sleep(5);
    }
    for (const socket of many) socket.destroy();
    await waitFor(() => plane.counters().streamConnections === 0, 3000);
    const counters = plane.counters();
    expect(counters.streamAccepted).toBe(40);
    expect(counters.streamClosed).toBe(40);
    // Still serving.
    const socket = await connect(port);
    sockets.push(socket);
    const before = events.length;
    socket.write(BINDING_REQUEST);
    await waitFor(() => events.length > before, 2000);
    expect(events.at(-1)!.data).toEqual(BINDING_REQUEST);
  });
});
