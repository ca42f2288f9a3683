// NativeSink (issue 9) over a fake plane: which relays go native (UDP clients of a native
// listener, not dual allocations) and which stay on the JS sink; port choice in the range with
// taken ports skipped, EVEN-PORT pairs and 508; table pushes (client once, whole sets, unchanged
// sets skipped); traffic collected as deltas without the core's own Send sends counted twice; a
// table the plane refuses moves the relay to a JS socket on the same port.
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

/** A plane that binds nothing and records every call. */
class FakePlane {
  readonly calls: string[] = [];
  readonly taken = new Set<number>();
  traffic = { packetsToClient: 0, bytesToClient: 0, packetsToPeer: 0, bytesToPeer: 0 };
  refuseChannels = false;
  #next = 1;
  openRelay(_ip: string, port: number) {
    if (this.taken.has(port)) throw new Error('Address already in use');
    this.calls.push(`open ${port}`);
    return { id: this.#next++, port };
  }
  setClient(id: number, client: TransportAddress) {
    this.calls.push(`client ${id} ${client.address}:${client.port}`);
  }
  setPermissions(id: number, ips: readonly string[]) {
    this.calls.push(`permissions ${id} ${ips.join(',')}`);
  }
  setChannels(id: number, bindings: readonly { ip: string; port: number; channel: number }[]) {
    if (this.refuseChannels) throw new Error('channel number outside 0x4000-0x4FFF');
    this.calls.push(`channels ${id} ${bindings.map((b) => `${b.channel}>${b.ip}:${b.port}`).join(',')}`);
  }
  closeRelay(id: number) {
    this.calls.push(`close ${id}`);
    return true;
  }
  sendFromRelay(id: number, peer: TransportAddress, data: Uint8Array) {
    this.calls.push(`send ${id} ${peer.port} ${data.length}`);
    this.traffic.packetsToPeer++;
    this.traffic.bytesToPeer += data.length;
  }
  relayTraffic() {
    return { ...this.traffic };
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

function setup(minPort: number, maxPort: number) {
  const plane = new FakePlane();
  const js = new FakeJs();
  const owner = new Owner();
  const sink = new NativeSink(js as unknown as TransportSink, {
    relays: [{ bindIp: '127.0.0.1', externalIp: '198.51.100.1' }],
    minPort,
    maxPort,
  });
  sink.attach(owner);
  const listener = {
    serverKey: UDP.serverKey,
    plane: plane as unknown as NativeRelayPlane,
    send() {},
  } as unknown as NativeUdpListener;
  sink.addListener(listener);
  return { plane, js, owner, sink };
}

function request(ref: number, extra: Partial<RelayRequest> = {}): RelayRequest {
  return { ref, family: 'IPv4', evenPort: false, reserveNext: false, tuple: UDP, dual: false, ...extra };
}

describe('NativeSink', () => {
  it('opens relays of UDP clients natively, in the range, and leaves TCP and dual allocations to JS', () => {
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
    expect(js.binds.map((b) => b.ref)).toEqual([2, 3, 4]);
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

  it('pushes the client once and whole tables, skipping sets that did not change', () => {
    const { plane, owner, sink } = setup(50_000, 50_000);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    plane.calls.length = 0;
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: [], channels: [] });
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.2', '127.0.0.1'], channels: [] });
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.1', '127.0.0.2'], channels: [] });
    sink.relayTableChanged({
      relayId,
      tuple: UDP,
      permissions: ['127.0.0.1', '127.0.0.2'],
      channels: [{ number: 0x4001, peer: PEER }],
    });
    sink.relayTableChanged({ relayId, tuple: UDP, permissions: ['127.0.0.2'], channels: [] });
    expect(plane.calls).toEqual([
      'client 1 127.0.0.1:40000',
      'permissions 1 127.0.0.1,127.0.0.2',
      'channels 1 16385>127.0.0.1:7000',
      'permissions 1 127.0.0.2',
      'channels 1 ',
    ]);
  });

  it("collects the plane's traffic as deltas, without the core's own sends", () => {
    const { plane, owner, sink } = setup(50_000, 50_000);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    plane.traffic = { packetsToClient: 5, bytesToClient: 500, packetsToPeer: 3, bytesToPeer: 300 };
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
    plane.traffic.packetsToClient += 2;
    plane.traffic.bytesToClient += 20;
    sink.collectTraffic(relayId, into);
    expect(into).toMatchObject({
      toClientPackets: 7,
      toClientBytes: 520,
      toPeerPackets: 3,
      toPeerBytes: 300,
    });
  });

  it('moves a relay whose table the plane refuses to a JS socket on the same port', async () => {
    const port = PORTS.nativeSinkUnit.relayMin;
    const { plane, owner, sink } = setup(port, port);
    sink.bindRelay(request(1));
    const relayId = owner.bound.get(1)!.relayId;
    plane.traffic = { packetsToClient: 1, bytesToClient: 10, packetsToPeer: 0, bytesToPeer: 0 };
    plane.refuseChannels = true;
    sink.relayTableChanged({
      relayId,
      tuple: UDP,
      permissions: ['127.0.0.1'],
      channels: [{ number: 0x5001, peer: PEER }],
    });
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
