// NativeSink (issue 9) over a fake plane: which relays go native (UDP clients of a native
// listener, both relays of a dual allocation included) and which stay on the JS sink; port choice in the range with
// taken ports skipped, EVEN-PORT pairs and 508; table pushes (client once, whole sets, unchanged
// sets skipped); traffic collected as deltas without the core's own Send sends counted twice, with
// one batched plane call per collection (10,000 relays: one call); a taken port recognised by the
// addon's error code; a table the plane refuses moves the relay to a JS socket on the same port.
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { TransportAddress } from '../../../src/stun/index.js';
import type { NativeRelayPlane, NativeUdpListener } from '../../../src/transport/native/index.js';
import { NATIVE_RELAY_ID_BASE, NativeSink } from '../../../src/transport/native/index.js';
import type { TransportSink } from '../../../src/transport/transport-sink.js';
import {
  type BoundRelay,
  FiveTuple,
  type RelayFailure,
  type RelayRequest,
  TrafficCounters,
} from '../../../src/turn/index.js';
import { PORTS } from '../../helpers/ports.js';

const SERVER: TransportAddress = { family: 'IPv4', address: '127.0.0.1', port: 3478 };
const CLIENT: TransportAddress = { family: 'IPv4', address: '127.0.0.1', port: 40_000 };
const PEER: TransportAddress = { family: 'IPv4', address: '127.0.0.1', port: 7000 };
const UDP = new FiveTuple('udp', CLIENT, SERVER);

type Traffic = { packetsToClient: number; bytesToClient: number; packetsToPeer: number; bytesToPeer: number };

/** An addon error as native/src/addon.cc throws it: a message and a stable code. */
function addonError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A plane that binds nothing and records every call. Its traffic model is the addon's: per relay,
 * what the data threads relayed; changedRelayTraffic reports the relays that changed since the
 * previous call; sendFromRelay (the core's own sends) is not in it.
 */
class FakePlane {
  readonly calls: string[] = [];
  readonly taken = new Set<number>();
  /** Ports whose bind fails with this error instead. */
  readonly failing = new Map<number, Error>();
  readonly traffic = new Map<number, Traffic>();
  readonly #reported = new Map<number, string>();
  changedCalls = 0;
  refuseChannels = false;
  #next = 1;
  openRelay(_ip: string, port: number) {
    if (this.taken.has(port)) throw addonError('NATIVE_ADDRESS_IN_USE', 'Address already in use');
    const failure = this.failing.get(port);
    if (failure !== undefined) throw failure;
    this.calls.push(`open ${port}`);
    const id = this.#next++;
    this.traffic.set(id, { packetsToClient: 0, bytesToClient: 0, packetsToPeer: 0, bytesToPeer: 0 });
    return { id, port };
  }
  setClient(id: number, client: TransportAddress) {
    this.calls.push(`client ${id} ${client.address}:${client.port}`);
  }
  setPermissions(id: number, ips: readonly string[]) {
    this.calls.push(`permissions ${id} ${ips.join(',')}`);
  }
  setChannels(id: number, bindings: readonly { ip: string; port: number; channel: number }[]) {
    if (this.refuseChannels) throw addonError('NATIVE_RELAY', 'refused for the test');
    this.calls.push(`channels ${id} ${bindings.map((b) => `${b.channel}>${b.ip}:${b.port}`).join(',')}`);
  }
  closeRelay(id: number) {
    this.calls.push(`close ${id}`);
    this.traffic.delete(id);
    return true;
  }
  sendFromRelay(id: number, peer: TransportAddress, data: Uint8Array) {
    this.calls.push(`send ${id} ${peer.port} ${data.length}`);
  }
  /** Native traffic of relay 1 (the first one opened), as the data threads would count it. */
  relay(id: number): Traffic {
    const t = this.traffic.get(id);
    if (t === undefined) throw new Error(`no relay ${id}`);
    return t;
  }
  changedRelayTraffic(): Float64Array {
    this.changedCalls++;
    const out: number[] = [];
    for (const [id, t] of this.traffic) {
      const key = `${t.packetsToClient},${t.bytesToClient},${t.packetsToPeer},${t.bytesToPeer}`;
      if ((this.#reported.get(id) ?? '0,0,0,0') === key) continue;
      this.#reported.set(id, key);
      out.push(id, t.packetsToClient, t.bytesToClient, t.packetsToPeer, t.bytesToPeer);
    }
    return Float64Array.from(out);
  }
}

class FakeJs {
  readonly binds: RelayRequest[] = [];
  readonly sent: number[] = [];
  bindRelay(request: RelayRequest) {
    this.binds.push(request);
  }
  sendToPeer(relayId: number) {
    this.sent.push(relayId);
  }
  closeRelay() {}
  sendToClient() {}
}

class Owner {
  readonly bound = new Map<number, BoundRelay>();
  readonly failed = new Map<number, RelayFailure>();
  readonly errors: number[] = [];
  readonly packets: Buffer[] = [];
  handlePeerPacket(_relayId: number, _from: TransportAddress, data: Buffer) {
    this.packets.push(data);
  }
  relayBound(ref: number, relay: BoundRelay) {
    this.bound.set(ref, relay);
  }
  relayFailed(ref: number, reason: RelayFailure) {
    this.failed.set(ref, reason);
  }
  relayError(relayId: number) {
    this.errors.push(relayId);
  }
}

function setup(minPort: number, maxPort: number, errors: Error[] = []) {
  const plane = new FakePlane();
  const js = new FakeJs();
  const owner = new Owner();
  const sink = new NativeSink(js as unknown as TransportSink, {
    relays: [{ bindIp: '127.0.0.1', externalIp: '198.51.100.1' }],
    minPort,
    maxPort,
    onError: (error) => errors.push(error),
  });
  sink.attach(owner);
  const listener = {
    serverKey: UDP.serverKey,
    plane: plane as unknown as NativeRelayPlane,
    send() {},
    sendTo() {},
    attachRelay(nativeId: number, tuple: FiveTuple) {
      plane.setClient(nativeId, tuple.client);
    },
  } as unknown as NativeUdpListener;
  sink.addListener(listener);
  return { plane, js, owner, sink };
}

function request(ref: number, extra: Partial<RelayRequest> = {}): RelayRequest {
  return { ref, family: 'IPv4', evenPort: false, reserveNext: false, tuple: UDP, dual: false, ...extra };
}

describe('NativeSink', () => {
  it('opens relays of UDP clients natively (dual allocations too), in the range, and leaves TCP to JS', () => {
    const { plane, js, owner, sink } = setup(50_000, 50_009);
    sink.bindRelay(request(1));
    const relay = owner.bound.get(1)!;
    expect(relay.relayId).toBeGreaterThanOrEqual(NATIVE_RELAY_ID_BASE);
    expect(relay.address.address).toBe('198.51.100.1');
    expect(relay.address.port).toBeGreaterThanOrEqual(50_000);
    expect(relay.address.port).toBeLessThanOrEqual(50_009);
    expect(sink.isNative(relay.relayId)).toBe(true);
    expect(plane.calls).toEqual([`open ${relay.address.port}`]);

    sink.bindRelay(request(2, { tuple: new FiveTuple('tcp', CLIENT, SERVER) }));
    sink.bindRelay(request(3, { dual: true }));
    sink.bindRelay(request(4, { tuple: new FiveTuple('udp', CLIENT, { ...SERVER, port: 9 }) }));
    expect(js.binds.map((b) => b.ref)).toEqual([2, 4]);
    // One relay of a dual allocation (the core asks once per family): native like any other.
    expect(sink.isNative(owner.bound.get(3)!.relayId)).toBe(true);
  });

  it('skips ports the plane cannot bind, keeps EVEN-PORT and pairs, and answers exhausted', () => {
    const { plane, owner, sink } = setup(50_000, 50_005);
    plane.taken.add(50_000);
    plane.taken.add(50_003);
    sink.bindRelay(request(1, { evenPort: true, reserveNext: true }));
    const pair = owner.bound.get(1)!;
    // 50000 is taken and 50002's twin 50003 too: only 50004 + 50005 remain.
    expect(pair.address.port).toBe(50_004);
    expect(pair.reserved?.address.port).toBe(50_005);
    sink.bindRelay(request(2, { evenPort: true }));
    expect(owner.bound.get(2)?.address.port).toBe(50_002);
    sink.bindRelay(request(3));
    expect(owner.bound.get(3)?.address.port).toBe(50_001);
    sink.bindRelay(request(4));
    expect(owner.failed.get(4)).toBe('exhausted');
    // A closed relay frees its port.
    sink.closeRelay(owner.bound.get(3)!.relayId);
    sink.bindRelay(request(5));
    expect(owner.bound.get(5)?.address.port).toBe(50_001);
  });

  it('pushes the client once and whole tables, skipping sets that did not change', async () => {
    const { plane, owner, sink } = setup(50_000, 50_000);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    plane.calls.length = 0;
    const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: [], channels: [] });
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.2', '127.0.0.1'], channels: [] });
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.1', '127.0.0.2'], channels: [] });
    await settled();
    sink.relayTableChanged({
      relayId,
      tuple: UDP,
      permissions: ['127.0.0.1', '127.0.0.2'],
      channels: [{ number: 0x4001, peer: PEER }],
    });
    // A new channel reaches the plane only after the caller's turn: after the ChannelBind success
    // response the core sends right after this call (a client must not see ChannelData first).
    expect(plane.calls.some((call) => call.startsWith('channels'))).toBe(false);
    await settled();
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.2'], channels: [] });
    await settled();
    expect(plane.calls).toEqual([
      'client 1 127.0.0.1:40000',
      'permissions 1 127.0.0.1,127.0.0.2',
      'channels 1 16385>127.0.0.1:7000',
      'permissions 1 127.0.0.2',
      'channels 1 ',
    ]);
  });

  it("collects the plane's traffic as deltas, without the core's own sends", async () => {
    const { plane, owner, sink } = setup(50_000, 50_000);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    Object.assign(plane.relay(1), {
      packetsToClient: 5,
      bytesToClient: 500,
      packetsToPeer: 3,
      bytesToPeer: 300,
    });
    // A Send indication the core relayed (and counted) through the plane: 40 bytes.
    sink.sendToPeer(relayId, PEER, Buffer.alloc(100), 10, 40);
    expect(plane.calls.at(-1)).toBe('send 1 7000 40');
    const into = new TrafficCounters();
    sink.collectTraffic(relayId, into);
    expect(into).toMatchObject({
      toClientPackets: 5,
      toClientBytes: 500,
      toPeerPackets: 3,
      toPeerBytes: 300,
    });
    // The next collection (the next tick: another synchronous run) adds only what is new.
    await Promise.resolve();
    plane.relay(1).packetsToClient += 2;
    plane.relay(1).bytesToClient += 20;
    sink.collectTraffic(relayId, into);
    expect(into).toMatchObject({
      toClientPackets: 7,
      toClientBytes: 520,
      toPeerPackets: 3,
      toPeerBytes: 300,
    });
    await Promise.resolve();
    sink.collectTraffic(relayId, into);
    expect(into.toClientPackets).toBe(7);
  });

  it('reads the traffic of 10,000 relays with one plane call per collection, exactly', async () => {
    const count = 10_000;
    const { plane, owner, sink } = setup(20_000, 20_000 + count - 1);
    for (let ref = 1; ref <= count; ref++) sink.bindRelay(request(ref));
    expect(sink.nativeRelayCount).toBe(count);
    const relayIds = [...owner.bound.values()].map((b) => b.relayId);
    // Every tenth relay carried something (plane ids count from 1 in bind order).
    for (let id = 1; id <= count; id += 10) {
      Object.assign(plane.relay(id), {
        packetsToClient: 2,
        bytesToClient: id,
        packetsToPeer: 1,
        bytesToPeer: 7,
      });
    }
    const counters = relayIds.map(() => new TrafficCounters());
    // One tick: the core collects every allocation in one synchronous run.
    for (const [i, relayId] of relayIds.entries()) sink.collectTraffic(relayId, counters[i]!);
    expect(plane.changedCalls).toBe(1);
    expect(sink.trafficReads).toBe(1);
    for (const [i, c] of counters.entries()) {
      const id = i + 1;
      const active = (id - 1) % 10 === 0;
      expect(c.toClientPackets).toBe(active ? 2 : 0);
      expect(c.toClientBytes).toBe(active ? id : 0);
      expect(c.toPeerPackets).toBe(active ? 1 : 0);
      expect(c.toPeerBytes).toBe(active ? 7 : 0);
    }
    // The next tick: one more call, only the relays that moved add anything.
    await Promise.resolve();
    plane.relay(5).packetsToPeer += 4;
    plane.relay(5).bytesToPeer += 400;
    for (const [i, relayId] of relayIds.entries()) sink.collectTraffic(relayId, counters[i]!);
    expect(plane.changedCalls).toBe(2);
    expect(counters[4]).toMatchObject({ toPeerPackets: 4, toPeerBytes: 400, toClientPackets: 0 });
    expect(counters.reduce((sum, c) => sum + c.toPeerPackets, 0)).toBe(count / 10 + 4);
  });

  it('skips a port only on the addon codes for a taken or forbidden address', () => {
    const { plane, owner, sink } = setup(50_000, 50_002);
    plane.taken.add(50_000);
    plane.failing.set(50_001, addonError('NATIVE_ACCESS_DENIED', 'Permission denied'));
    sink.bindRelay(request(1));
    expect(owner.bound.get(1)?.address.port).toBe(50_002);
    // The words without the code are not enough: an unknown failure answers the Allocate.
    const errors: Error[] = [];
    const other = setup(50_000, 50_000, errors);
    other.plane.failing.set(50_000, new Error('Address already in use'));
    other.sink.bindRelay(request(7));
    expect(other.owner.failed.get(7)).toBe('error');
    expect(errors).toHaveLength(1);
  });

  it('moves a relay whose table the plane refuses to a JS socket on the same port', async () => {
    const port = PORTS.nativeSinkUnit.relayMin;
    const { plane, owner, sink } = setup(port, port);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    Object.assign(plane.relay(1), { packetsToClient: 1, bytesToClient: 10 });
    plane.refuseChannels = true;
    sink.relayTableChanged({
      relayId,
      tuple: UDP,
      permissions: ['127.0.0.1'],
      channels: [{ number: 0x5001, peer: PEER }],
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(sink.movedToJs).toBe(1);
    expect(plane.calls).toContain('close 1');
    // Peer datagrams to that port now reach the core.
    const peer = dgram.createSocket('udp4');
    try {
      const deadline = Date.now() + 3000;
      while (owner.packets.length === 0 && Date.now() < deadline) {
        peer.send('hello', port, '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      peer.close();
    }
    expect(owner.packets[0]?.toString()).toBe('hello');
    // What the plane relayed before the move is still collected, once.
    const into = new TrafficCounters();
    sink.collectTraffic(relayId, into);
    sink.collectTraffic(relayId, into);
    expect(into.toClientBytes).toBe(10);
    sink.closeRelay(relayId);
    expect(sink.nativeRelayCount).toBe(0);
    expect(owner.errors).toEqual([]);
  });
});
