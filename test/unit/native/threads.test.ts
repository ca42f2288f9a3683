// The data threads (issue 9 step two): SO_REUSEPORT listeners steered by a BPF hash, relays owned
// by the client's thread, table pushes through per-thread command queues, control packets to JS
// through one queue drained on the loop.
import type dgram from 'node:dgram';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  NativeDataPlane,
  type NativeRelay,
  NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import {
  bound,
  channelData,
  closeAfterEach,
  expectedWorker,
  LOOPBACK,
  settled,
  waitFor as waitUntil,
} from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

const waitFor = (condition: () => boolean, ms = 3000): Promise<void> => waitUntil(condition, ms);

/** A Binding request whose transaction id carries `sequence`, to check delivery order. */
function bindingRequest(sequence: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt32BE(0x2112a442, 4);
  b.writeUInt32BE(sequence, 16);
  return b;
}

const track = closeAfterEach();

describe.skipIf(skipNative)('native data threads', () => {
  it('defaults to one thread per core (at most 4) and validates the option', () => {
    const addon = requireNativeAddon();
    const saved = process.env.ICEGATE_NATIVE_THREADS;
    delete process.env.ICEGATE_NATIVE_THREADS;
    try {
      const plane = track(new NativeRelayPlane(addon, -1));
      expect(plane.info().threads).toBe(Math.min(availableParallelism(), 4));
      expect(() => new NativeRelayPlane(addon, -1, { threads: 0 })).toThrow(/threads/);
      expect(() => new NativeRelayPlane(addon, -1, { threads: 65 })).toThrow(/threads/);
      process.env.ICEGATE_NATIVE_THREADS = '3';
      expect(track(new NativeRelayPlane(addon, -1)).info().threads).toBe(3);
      process.env.ICEGATE_NATIVE_THREADS = 'many';
      expect(() => new NativeRelayPlane(addon, -1)).toThrow(/ICEGATE_NATIVE_THREADS/);
    } finally {
      if (saved === undefined) delete process.env.ICEGATE_NATIVE_THREADS;
      else process.env.ICEGATE_NATIVE_THREADS = saved;
    }
  });

  it('opens one listening socket per thread and steers each client to the thread owning its relay', async () => {
    const threads = 3;
    const control: { data: Buffer; port: number }[] = [];
    const plane = track(
      NativeRelayPlane.listen(
        requireNativeAddon(),
        LOOPBACK,
        0,
        (data, _ip, port) => control.push({ data, port }),
        {
          threads,
        },
      ),
    );
    const info = plane.info();
    expect(info).toMatchObject({ threads, steering: true });
    const clients = await Promise.all(Array.from({ length: 12 }, () => bound()));
    for (const c of clients) track(c);
    // STUN from each client goes to JS via the thread the BPF program picked.
    for (const c of clients) c.send(bindingRequest(0), plane.listenPort ?? 0, LOOPBACK);
    await waitFor(() => control.length === clients.length);
    const perWorker = plane.info().workers.map((w) => w.handedToControl);
    const predicted = new Array<number>(threads).fill(0);
    for (const c of clients) {
      const w = expectedWorker(LOOPBACK, c.address().port, threads);
      predicted[w] = (predicted[w] ?? 0) + 1;
    }
    expect(perWorker).toEqual(predicted);
  });

  it('relays both directions for many clients across threads, none of it through JS', async () => {
    const control: Buffer[] = [];
    const plane = track(
      NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, (data) => control.push(data), {
        threads: 2,
      }),
    );
    const peer = track(await bound());
    const pairs: { client: dgram.Socket; relay: NativeRelay; got: Buffer[] }[] = [];
    for (let i = 0; i < 8; i += 1) {
      const client = track(await bound());
      const relay = plane.openRelay(LOOPBACK, 0);
      plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
      plane.setPermissions(relay.id, [LOOPBACK]);
      plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4000 + i }]);
      const got: Buffer[] = [];
      client.on('message', (data) => got.push(data));
      pairs.push({ client, relay, got });
    }
    const atPeer: { data: Buffer; port: number }[] = [];
    peer.on('message', (data, rinfo) => atPeer.push({ data, port: rinfo.port }));
    const perClient = 20;
    for (let k = 0; k < perClient; k += 1) {
      for (const [i, p] of pairs.entries()) {
        p.client.send(channelData(0x4000 + i, Buffer.from(`c${i}-${k}`)), plane.listenPort ?? 0, LOOPBACK);
      }
      // Paced so that no socket buffer overflows on a loaded machine (loss is not under test).
      if (k % 5 === 4) await waitFor(() => atPeer.length === pairs.length * (k + 1));
    }
    await waitFor(() => atPeer.length === pairs.length * perClient);
    expect(atPeer).toHaveLength(pairs.length * perClient);
    // Each payload left from its own relay's port.
    for (const { data, port } of atPeer) {
      const i = Number(/^c(\d+)-/.exec(data.toString())?.[1]);
      expect(port).toBe(pairs[i]?.relay.port);
    }
    for (let k = 0; k < perClient; k += 1) {
      for (const p of pairs) peer.send(Buffer.from(`p${k}`), p.relay.port, LOOPBACK);
      if (k % 5 === 4) await waitFor(() => pairs.every((p) => p.got.length === k + 1));
    }
    await waitFor(() => pairs.every((p) => p.got.length === perClient));
    for (const [i, p] of pairs.entries()) {
      expect(p.got).toHaveLength(perClient);
      expect(p.got.every((d) => d.readUInt16BE(0) === 0x4000 + i)).toBe(true);
    }
    await settled(() => plane.counters(), {
      sentToPeer: pairs.length * perClient,
      sentChannelData: pairs.length * perClient,
    });
    const counters = plane.counters();
    expect(counters).toMatchObject({
      sentToPeer: pairs.length * perClient,
      sentChannelData: pairs.length * perClient,
      handedToControl: 0,
      droppedUnboundChannel: 0,
    });
    expect(control).toHaveLength(0);
    // Both threads did some of the work (8 clients on 2 threads: the hash spreads them).
    const owners = new Set(pairs.map((p) => expectedWorker(LOOPBACK, p.client.address().port, 2)));
    const busy = plane.info().workers.filter((w) => w.sentToPeer > 0).length;
    expect(busy).toBe(owners.size);
  });

  it('applies each table push before the next datagram sent after it, on both paths', async () => {
    const plane = track(NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads: 2 }));
    const client = track(await bound());
    const peer = track(await bound());
    const relay = plane.openRelay(LOOPBACK, 0);
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4001 }]);
    const atClient: string[] = [];
    const atPeer: string[] = [];
    client.on('message', (data) => atClient.push(data.subarray(4).toString()));
    peer.on('message', (data) => atPeer.push(data.toString()));
    const expected: string[] = [];
    for (let round = 0; round < 40; round += 1) {
      const allowed = round % 2 === 1;
      // No waiting between the push and the datagrams that must see it. (A datagram that arrived
      // before a push but was not read yet may see either table: the guarantee is for datagrams
      // sent after the call returned, so each round waits until its datagrams were read.)
      // Peer -> client is gated by the permission (§9), client -> peer by the binding (§12.6).
      plane.setPermissions(relay.id, allowed ? [LOOPBACK] : []);
      plane.setChannels(
        relay.id,
        allowed ? [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4001 }] : [],
      );
      peer.send(Buffer.from(`r${round}`), relay.port, LOOPBACK);
      client.send(channelData(0x4001, Buffer.from(`r${round}`)), plane.listenPort ?? 0, LOOPBACK);
      if (allowed) expected.push(`r${round}`);
      await waitFor(() => {
        const c = plane.counters();
        return c.received === round + 1 && c.clientReceived === round + 1;
      });
    }
    await waitFor(() => atClient.length === expected.length && atPeer.length === expected.length);
    expect(atClient.sort()).toEqual([...expected].sort());
    expect(atPeer.sort()).toEqual([...expected].sort());
    expect(plane.counters()).toMatchObject({ droppedNoPermission: 20, droppedUnboundChannel: 20 });
  });

  it('delivers control packets to JS in order per client', async () => {
    const seen = new Map<number, number[]>();
    const plane = track(
      NativeRelayPlane.listen(
        requireNativeAddon(),
        LOOPBACK,
        0,
        (data, _ip, port) => {
          const list = seen.get(port) ?? [];
          list.push(data.readUInt32BE(16));
          seen.set(port, list);
        },
        { threads: 2 },
      ),
    );
    const clients = await Promise.all(Array.from({ length: 6 }, () => bound()));
    for (const c of clients) track(c);
    const perClient = 60;
    for (let k = 0; k < perClient; k += 1) {
      for (const c of clients) c.send(bindingRequest(k), plane.listenPort ?? 0, LOOPBACK);
      // Paced, so the kernel's socket buffers never overflow on a loaded machine: order is the
      // property under test, and a datagram lost before the plane read it would hide it.
      if (k % 10 === 9) await waitFor(() => plane.counters().clientReceived === clients.length * (k + 1));
    }
    await waitFor(() => plane.counters().handedToControl === clients.length * perClient);
    await waitFor(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === clients.length * perClient);
    for (const c of clients) {
      expect(seen.get(c.address().port)).toEqual(Array.from({ length: perClient }, (_, k) => k));
    }
  });

  it('moves a relay to the thread of a new client (setClient again)', async () => {
    const threads = 2;
    const plane = track(NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads }));
    const peer = track(await bound());
    const first = track(await bound());
    let second = track(await bound());
    // A second client on the other thread.
    for (let i = 0; i < 20; i += 1) {
      if (
        expectedWorker(LOOPBACK, second.address().port, threads) !==
        expectedWorker(LOOPBACK, first.address().port, threads)
      )
        break;
      second = track(await bound());
    }
    expect(expectedWorker(LOOPBACK, second.address().port, threads)).not.toBe(
      expectedWorker(LOOPBACK, first.address().port, threads),
    );
    const relay = plane.openRelay(LOOPBACK, 0);
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4100 }]);
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: first.address().port });
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: second.address().port });
    const got = once(second, 'message');
    peer.send(Buffer.from('moved'), relay.port, LOOPBACK);
    const [data] = (await got) as [Buffer];
    expect(data).toEqual(channelData(0x4100, Buffer.from('moved')));
    const atPeer = once(peer, 'message');
    second.send(channelData(0x4100, Buffer.from('back')), plane.listenPort ?? 0, LOOPBACK);
    expect(((await atPeer) as [Buffer])[0].toString()).toBe('back');
    // The first client is no longer this relay's: its ChannelData goes to JS.
    expect(plane.counters().handedToControl).toBe(0);
    first.send(channelData(0x4100, Buffer.from('stale')), plane.listenPort ?? 0, LOOPBACK);
    await settled(() => plane.counters(), { handedToControl: 1, sentToPeer: 1 });
    expect(plane.counters()).toMatchObject({ handedToControl: 1, sentToPeer: 1 });
  });

  it('steers IPv6 clients too', async () => {
    const threads = 2;
    let control = 0;
    const plane = track(
      NativeRelayPlane.listen(requireNativeAddon(), '::1', 0, () => (control += 1), { threads }),
    );
    const peer = track(await bound('udp6'));
    const clients = await Promise.all(Array.from({ length: 6 }, () => bound('udp6')));
    let delivered = 0;
    for (const [i, c] of clients.entries()) {
      track(c);
      const relay = plane.openRelay('::1', 0);
      plane.setClient(relay.id, { family: 'IPv6', address: '::1', port: c.address().port });
      plane.setPermissions(relay.id, ['::1']);
      plane.setChannels(relay.id, [{ ip: '::1', port: peer.address().port, channel: 0x4200 + i }]);
    }
    peer.on('message', () => (delivered += 1));
    for (const [i, c] of clients.entries())
      c.send(channelData(0x4200 + i, Buffer.from('v6')), plane.listenPort ?? 0, '::1');
    await waitFor(() => delivered === clients.length);
    expect(delivered).toBe(clients.length);
    expect(control).toBe(0);
    const perWorker = plane.info().workers.map((w) => w.clientReceived);
    const predicted = new Array<number>(threads).fill(0);
    for (const c of clients) {
      const w = expectedWorker('::1', c.address().port, threads);
      predicted[w] = (predicted[w] ?? 0) + 1;
    }
    expect(perWorker).toEqual(predicted);
  });

  it('closes relays and the plane under load without crashing', async () => {
    for (const threads of [1, 2]) {
      // A plane closed right after it started its threads.
      new NativeDataPlane(requireNativeAddon()).listen(LOOPBACK, 0, () => {}).close();
      const loaded = NativeRelayPlane.listen(requireNativeAddon(), LOOPBACK, 0, () => {}, { threads });
      const client = track(await bound());
      const peer = track(await bound());
      const relays: NativeRelay[] = [];
      for (let i = 0; i < 4; i += 1) {
        const relay = loaded.openRelay(LOOPBACK, 0);
        relays.push(relay);
        if (i === 0)
          loaded.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
        loaded.setPermissions(relay.id, [LOOPBACK]);
        loaded.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4000 }]);
      }
      const listenPort = loaded.listenPort ?? 0;
      const payload = Buffer.alloc(200, 1);
      let stop = false;
      const blast = (async () => {
        for (let burst = 0; burst < 400 && !stop; burst += 1) {
          for (let k = 0; k < 16; k += 1) {
            for (const r of relays) peer.send(payload, r.port, LOOPBACK);
            client.send(channelData(0x4000, payload), listenPort, LOOPBACK);
            client.send(bindingRequest(k), listenPort, LOOPBACK);
          }
          await new Promise((r) => setImmediate(r));
        }
      })();
      await waitFor(() => loaded.counters().received > 200);
      for (const r of relays.slice(1)) expect(loaded.closeRelay(r.id)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      loaded.close();
      stop = true;
      await blast;
      expect(() => loaded.counters()).toThrow(/NATIVE_CLOSED/);
    }
  });

  it('survives JS closing the plane from the control callback while threads are busy', async () => {
    let calls = 0;
    const plane: NativeRelayPlane = NativeRelayPlane.listen(
      requireNativeAddon(),
      LOOPBACK,
      0,
      () => {
        calls += 1;
        if (calls === 3) plane.close();
      },
      { threads: 2 },
    );
    const clients = await Promise.all(Array.from({ length: 4 }, () => bound()));
    for (const c of clients) track(c);
    for (let k = 0; k < 50; k += 1)
      for (const c of clients) c.send(bindingRequest(k), plane.listenPort ?? 0, LOOPBACK);
    await waitFor(() => calls >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(3);
    expect(() => plane.counters()).toThrow(/NATIVE_CLOSED/);
  });
});
