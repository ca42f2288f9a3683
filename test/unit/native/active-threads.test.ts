// Active data threads (issue 9): clients steered to the first k threads only, relays moved when k
// changes, each thread's CPU clock readable, and the ThreadScaler that picks k from it.

import type dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  type NativeRelay,
  NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import { ThreadScaler } from '../../../src/transport/native/thread-scaler.js';
import {
  bound,
  channelData,
  closeAfterEach,
  expectedWorker,
  LOOPBACK,
  settled,
  waitFor,
} from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

const track = closeAfterEach();

interface Pair {
  client: dgram.Socket;
  relay: NativeRelay;
  got: Buffer[];
  channel: number;
}

/** `count` clients, each with a relay, a permission and a channel to `peer`. */
async function pairs(
  plane: NativeRelayPlane,
  peer: dgram.Socket,
  count: number,
  firstChannel = 0x4000,
): Promise<Pair[]> {
  const out: Pair[] = [];
  for (let i = 0; i < count; i += 1) {
    const client = track(await bound());
    const relay = plane.openRelay(LOOPBACK, 0);
    const channel = firstChannel + i;
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel }]);
    const got: Buffer[] = [];
    client.on('message', (data) => got.push(data));
    out.push({ client, relay, got, channel });
  }
  return out;
}

/** One round trip per client (client -> peer, peer -> client); resolves when all arrived. */
async function roundTrip(
  plane: NativeRelayPlane,
  peer: dgram.Socket,
  all: Pair[],
  atPeer: string[],
  tag: string,
) {
  const peerBefore = atPeer.length;
  const clientBefore = all.map((p) => p.got.length);
  const countedBefore = plane.counters();
  for (const p of all) {
    p.client.send(
      channelData(p.channel, Buffer.from(`${tag}-${p.channel}`)),
      plane.listenPort ?? 0,
      LOOPBACK,
    );
  }
  await waitFor(() => atPeer.length === peerBefore + all.length, 3000);
  for (const p of all) peer.send(Buffer.from(tag), p.relay.port, LOOPBACK);
  await waitFor(() => all.every((p, i) => p.got.length === (clientBefore[i] ?? 0) + 1), 3000);
  // And counted (a data thread counts after its send returns).
  await settled(() => plane.counters(), {
    sentToPeer: countedBefore.sentToPeer + all.length,
    sentChannelData: countedBefore.sentChannelData + all.length,
  });
}

describe.skipIf(skipNative)('native active data threads', () => {
  it('steers every client to the first k threads and moves the relays when k changes', async () => {
    const threads = 3;
    const control: Buffer[] = [];
    const plane = track(
      NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, (data) => control.push(data), { threads }),
    );
    expect(plane.info()).toMatchObject({ threads, active: threads, steering: true });
    const peer = track(await bound());
    const atPeer: string[] = [];
    peer.on('message', (data) => atPeer.push(data.toString()));
    const all = await pairs(plane, peer, 12);

    const sentBy = () => plane.info().workers.map((w) => w.sentToPeer + w.sentToClient);
    const onThreads = (active: number) => {
      const expected = new Array<number>(threads).fill(0);
      for (const p of all) {
        const w = expectedWorker(LOOPBACK, p.client.address().port, active);
        expected[w] = (expected[w] ?? 0) + 2;
      }
      return expected;
    };

    let before = sentBy();
    await roundTrip(plane, peer, all, atPeer, 'three');
    expect(sentBy().map((n, i) => n - (before[i] ?? 0))).toEqual(onThreads(threads));

    // Down to one thread: every relay that was not on thread 0 moves there.
    const notOnZero = all.filter(
      (p) => expectedWorker(LOOPBACK, p.client.address().port, threads) !== 0,
    ).length;
    expect(plane.setActiveThreads(1)).toBe(notOnZero);
    expect(plane.info().active).toBe(1);
    before = sentBy();
    await roundTrip(plane, peer, all, atPeer, 'one');
    expect(sentBy().map((n, i) => n - (before[i] ?? 0))).toEqual([all.length * 2, 0, 0]);

    // Up to two: the hash modulo 2 places them.
    const moving = all.filter((p) => expectedWorker(LOOPBACK, p.client.address().port, 2) !== 0).length;
    expect(plane.setActiveThreads(2)).toBe(moving);
    expect(plane.setActiveThreads(2)).toBe(0); // no change, nothing moves
    before = sentBy();
    await roundTrip(plane, peer, all, atPeer, 'two');
    expect(sentBy().map((n, i) => n - (before[i] ?? 0))).toEqual(onThreads(2));

    // Nothing was lost and nothing went through JS: every datagram was sent after the move.
    expect(control).toHaveLength(0);
    expect(plane.counters()).toMatchObject({
      handedToControl: 0,
      droppedNoClient: 0,
      droppedUnboundChannel: 0,
    });
  });

  it('keeps the tables of a moved relay and a relay closed after a move is gone', async () => {
    const plane = track(NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads: 2 }));
    const peer = track(await bound());
    const atPeer: string[] = [];
    peer.on('message', (data) => atPeer.push(data.toString()));
    const all = await pairs(plane, peer, 8);
    plane.setActiveThreads(1);
    // A permission withdrawn after the move is enforced by the new owner.
    const [first, ...rest] = all;
    if (first === undefined) throw new Error('no pairs');
    plane.setPermissions(first.relay.id, []);
    peer.send(Buffer.from('denied'), first.relay.port, LOOPBACK);
    await waitFor(() => plane.counters().droppedNoPermission === 1, 3000);
    expect(first.got).toHaveLength(0);
    expect(plane.closeRelay(first.relay.id)).toBe(true);
    plane.setActiveThreads(2);
    await roundTrip(plane, peer, rest, atPeer, 'after');
    expect(plane.info().active).toBe(2);
  });

  it('loses no peer datagram while relays move back and forth under continuous traffic', async () => {
    const plane = track(NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads: 2 }));
    const peer = track(await bound());
    const all = await pairs(plane, peer, 4);
    // At least one client must live on thread 1 when both are active, or nothing would move.
    while (!all.some((p) => expectedWorker(LOOPBACK, p.client.address().port, 2) === 1)) {
      all.push(...(await pairs(plane, peer, 1, 0x4000 + all.length)));
    }
    for (const p of all) p.client.setRecvBufferSize(4 * 1024 * 1024);
    const perRelay = 4000;
    // The peer sends from another thread, so datagrams keep arriving while this thread moves the
    // relays: a move that lands between a data thread's read of a relay's socket and its relaying
    // of that batch must not lose the batch (the detach waits for the end of the batch).
    const sender = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const dgram = require('node:dgram');
       const socket = dgram.createSocket('udp4');
       let sent = 0;
       // Data indications (this socket has no channel), 5 per relay per millisecond.
       const step = () => {
         for (let k = 0; k < 5; k += 1) {
           for (const port of workerData.ports) socket.send(Buffer.from('x' + sent), port, '127.0.0.1');
           sent += 1;
         }
         if (sent < workerData.perRelay) setTimeout(step, 1);
         else setTimeout(() => { socket.close(); parentPort.postMessage('done'); }, 50);
       };
       socket.bind(0, '127.0.0.1', step);`,
      { eval: true, workerData: { ports: all.map((p) => p.relay.port), perRelay } },
    );
    let done = false;
    sender.on('message', () => {
      done = true;
    });
    let moved = 0;
    let toggles = 0;
    while (!done) {
      moved += plane.setActiveThreads(toggles % 2 === 0 ? 1 : 2);
      toggles += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sender.terminate();
    await waitFor(() => all.every((p) => p.got.length === perRelay), 5000);
    for (const p of all) expect(p.got).toHaveLength(perRelay);
    expect(toggles).toBeGreaterThan(50);
    expect(moved).toBeGreaterThan(0);
  });

  it('refuses an active count outside 1..threads', () => {
    const plane = track(new NativeRelayPlane(requireNativeAddon(), -1, { threads: 2 }));
    expect(() => plane.setActiveThreads(0)).toThrow(/NATIVE_BAD_ARGUMENT|from 1 to 2/);
    expect(() => plane.setActiveThreads(3)).toThrow(/from 1 to 2/);
    expect(() => plane.setActiveThreads(1.5)).toThrow(/from 1 to 2/);
    expect(plane.info().active).toBe(2);
  });

  it('reads each data thread CPU clock, and names the threads icegate-dataN', async () => {
    const plane = track(NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads: 2 }));
    const peer = track(await bound());
    const atPeer: string[] = [];
    peer.on('message', (data) => atPeer.push(data.toString()));
    const all = await pairs(plane, peer, 4);
    for (let k = 0; k < 50; k += 1) await roundTrip(plane, peer, all, atPeer, `k${k}`);
    const cpu = plane.info().workers.map((w) => w.cpuSeconds);
    expect(cpu.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const c of cpu) expect(c).toBeGreaterThanOrEqual(0);
    const names = readdirSync('/proc/self/task').map((t) =>
      readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim(),
    );
    expect(names).toEqual(expect.arrayContaining(['icegate-data0', 'icegate-data1']));
  });

  it('ThreadScaler starts a plane at one active thread and adds one when it is busy', () => {
    const plane = track(new NativeRelayPlane(requireNativeAddon(), -1, { threads: 2 }));
    const changes: number[] = [];
    const scaler = new ThreadScaler(plane, {
      onChange: (active) => changes.push(active),
      policy: { upBusy: -1, downBusy: 0, calmSamples: 1, holdSamples: 0 },
    });
    expect(plane.info().active).toBe(1);
    scaler.sample(); // any load is "busy" under this policy
    expect(changes).toEqual([2]);
    expect(plane.info().active).toBe(2);
    scaler.sample(); // already at the maximum
    expect(plane.info().active).toBe(2);
  });
});
