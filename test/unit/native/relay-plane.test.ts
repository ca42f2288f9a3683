import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Attr, decodeMessage, getAttribute, readXorAddress, StunClass } from '../../../src/stun/index.js';
import {
  NativeDataPlane,
  type NativeRelay,
  type NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import { bound, collect, LOOPBACK, waitFor as waitUntil } from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

const waitFor = (condition: () => boolean, ms = 1000): Promise<void> => waitUntil(condition, ms);

describe.skipIf(skipNative)('native relay plane: peer -> client over UDP', () => {
  let listener: dgram.Socket;
  let client: dgram.Socket;
  let peer: dgram.Socket;
  let plane: NativeRelayPlane;
  let relay: NativeRelay;

  beforeEach(async () => {
    listener = await bound();
    client = await bound();
    peer = await bound();
    plane = new NativeDataPlane(requireNativeAddon()).createRelayPlane(listener);
    relay = plane.openRelay(LOOPBACK, 0);
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
  });

  afterEach(() => {
    plane.close();
    for (const s of [listener, client, peer]) s.close();
  });

  it('binds a relay socket on a free port', () => {
    expect(relay.port).toBeGreaterThan(0);
    expect(plane.counters().relays).toBe(1);
  });

  it('drops and counts data from a peer without a permission (RFC 8656 §9)', async () => {
    const arrived = collect(client, 1, 300);
    peer.send(Buffer.from('nope'), relay.port, LOOPBACK);
    await waitFor(() => plane.counters().droppedNoPermission === 1);
    expect(await arrived).toHaveLength(0);
    expect(plane.counters()).toMatchObject({ received: 1, droppedNoPermission: 1, sentDataIndication: 0 });
  });

  it('forwards a permitted peer as a Data indication from the listening port (RFC 8656 §11.6)', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    const arrived = collect(client, 1);
    peer.send(Buffer.from('hello'), relay.port, LOOPBACK);
    const [first] = await arrived;
    expect(first?.port).toBe(listener.address().port);
    const decoded = decodeMessage(first?.data ?? Buffer.alloc(0));
    if (!decoded.ok) throw new Error(`not STUN: ${decoded.detail}`);
    expect(decoded.message.method).toBe(0x007);
    expect(decoded.message.cls).toBe(StunClass.Indication);
    const xorPeer = getAttribute(decoded.message, Attr.XOR_PEER_ADDRESS);
    expect(readXorAddress(xorPeer?.value ?? Buffer.alloc(0), decoded.message.transactionId)).toEqual({
      family: 'IPv4',
      address: LOOPBACK,
      port: peer.address().port,
    });
    expect(getAttribute(decoded.message, Attr.DATA)?.value.toString()).toBe('hello');
    // The data thread counts after sendmmsg returns, which may be after the datagram arrived here.
    await waitFor(() => plane.counters().sentDataIndication >= 1);
    expect(plane.counters().sentDataIndication).toBe(1);
  });

  it('forwards a bound peer as ChannelData without padding (RFC 8656 §12.4-12.5)', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4001 }]);
    const arrived = collect(client, 1);
    peer.send(Buffer.from('abcde'), relay.port, LOOPBACK);
    const [first] = await arrived;
    expect(first?.data).toEqual(Buffer.concat([Buffer.from([0x40, 0x01, 0x00, 0x05]), Buffer.from('abcde')]));
    await waitFor(() => plane.counters().sentChannelData >= 1);
    expect(plane.counters().sentChannelData).toBe(1);
  });

  it('relays a burst in batches and counts every datagram once', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4abc }]);
    // 64 datagrams: two recvmmsg batches, well inside the default 208 KiB receive buffers.
    const total = 64;
    const arrived = collect(client, total, 2000);
    for (let i = 0; i < total; i += 1) peer.send(Buffer.alloc(120, i & 0xff), relay.port, LOOPBACK);
    const got = await arrived;
    await waitFor(() => plane.counters().sentChannelData >= got.length);
    const counters = plane.counters();
    // Loopback with default buffers should deliver all; the counters must agree with what arrived.
    expect(got.length).toBe(total);
    expect(counters.received).toBe(total);
    expect(counters.sentChannelData).toBe(total);
    expect(counters.receiveBatches).toBeLessThanOrEqual(total);
    expect(got.every((m) => m.data.length === 124 && m.data.readUInt16BE(0) === 0x4abc)).toBe(true);
  });

  it('drops a datagram whose Data indication would exceed a UDP datagram, and forwards an empty one', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    const arrived = collect(client, 2, 1000);
    // 20 (header) + 12 (XOR-PEER-ADDRESS) + 4 (DATA header) + 65_500 > 65_507.
    peer.send(Buffer.alloc(65_500), relay.port, LOOPBACK);
    peer.send(Buffer.alloc(65_000), relay.port, LOOPBACK);
    peer.send(Buffer.alloc(0), relay.port, LOOPBACK);
    const got = await arrived;
    expect(got.map((m) => m.data.length).sort((a, b) => a - b)).toEqual([36, 65_036]);
    await waitFor(() => plane.counters().sentDataIndication >= 2);
    expect(plane.counters()).toMatchObject({ received: 3, droppedTooLarge: 1, sentDataIndication: 2 });
  });

  it('encodes an IPv6 peer of an IPv6 relay in XOR-PEER-ADDRESS (RFC 8489 §14.2)', async () => {
    const relay6 = plane.openRelay('::1', 0);
    const client6 = await bound();
    plane.setClient(relay6.id, { family: 'IPv4', address: LOOPBACK, port: client6.address().port });
    plane.setPermissions(relay6.id, ['::1']);
    const peer6 = dgram.createSocket('udp6');
    peer6.bind(0, '::1');
    await once(peer6, 'listening');
    try {
      const arrived = collect(client6, 1);
      peer6.send(Buffer.from('six'), relay6.port, '::1');
      const [first] = await arrived;
      const decoded = decodeMessage(first?.data ?? Buffer.alloc(0));
      if (!decoded.ok) throw new Error(`not STUN: ${decoded.detail}`);
      const xorPeer = getAttribute(decoded.message, Attr.XOR_PEER_ADDRESS);
      expect(readXorAddress(xorPeer?.value ?? Buffer.alloc(0), decoded.message.transactionId)).toEqual({
        family: 'IPv6',
        address: '::1',
        port: peer6.address().port,
      });
      expect(getAttribute(decoded.message, Attr.DATA)?.value.toString()).toBe('six');
    } finally {
      peer6.close();
      client6.close();
    }
  });

  it('stops forwarding when permissions are replaced by an empty set', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setPermissions(relay.id, []);
    peer.send(Buffer.from('x'), relay.port, LOOPBACK);
    await waitFor(() => plane.counters().droppedNoPermission === 1);
    expect(plane.counters().droppedNoPermission).toBe(1);
  });

  it('refuses a second relay for the same client 5-tuple (RFC 8656 §2.2)', () => {
    const second = plane.openRelay(LOOPBACK, 0);
    expect(() =>
      plane.setClient(second.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port }),
    ).toThrow(/already has an allocation/);
    // Once the first relay is closed its client entry is free again.
    plane.closeRelay(relay.id);
    plane.setClient(second.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
  });

  it('rejects bad table pushes with stable codes', () => {
    expect(() => plane.setPermissions(relay.id, ['not-an-ip'])).toThrow(
      expect.objectContaining({ code: 'NATIVE_RELAY' }),
    );
    expect(() => plane.setChannels(relay.id, [{ ip: LOOPBACK, port: 1, channel: 0x3fff }])).toThrow(
      /0x4000-0x7FFF/,
    );
    expect(() => plane.setChannels(relay.id, [{ ip: LOOPBACK, port: 1, channel: 0x8000 }])).toThrow(
      expect.objectContaining({ code: 'NATIVE_RELAY' }),
    );
    // The core's whole range, RFC 5766 §11's 0x4000-0x7FFF, is accepted.
    plane.setChannels(relay.id, [
      { ip: LOOPBACK, port: 1, channel: 0x4000 },
      { ip: LOOPBACK, port: 2, channel: 0x5000 },
      { ip: LOOPBACK, port: 3, channel: 0x7ffe },
      { ip: LOOPBACK, port: 4, channel: 0x7fff },
    ]);
    expect(() => plane.setClient(relay.id, { family: 'IPv6', address: '::1', port: 1 })).toThrow(/family/);
    expect(() => plane.setPermissions(999, [])).toThrow(/unknown relay/);
    expect(() => plane.openRelay('nope', 0)).toThrow(expect.objectContaining({ code: 'NATIVE_RELAY' }));
  });

  it('refuses a taken relay port with NATIVE_ADDRESS_IN_USE (a code, not a message to parse)', async () => {
    const holder = await bound();
    try {
      let caught: unknown;
      try {
        plane.openRelay(LOOPBACK, holder.address().port);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'NATIVE_ADDRESS_IN_USE' });
      // A relay port the plane itself holds is taken too.
      expect(() => plane.openRelay(LOOPBACK, relay.port)).toThrow(
        expect.objectContaining({ code: 'NATIVE_ADDRESS_IN_USE' }),
      );
      // Not an address problem: the generic code.
      expect(() => plane.openRelay('nope', 0)).toThrow(expect.objectContaining({ code: 'NATIVE_RELAY' }));
    } finally {
      holder.close();
    }
  });

  it('reports the traffic of changed relays only, cumulative, in one typed array', async () => {
    const other = plane.openRelay(LOOPBACK, 0);
    plane.setClient(other.id, { family: 'IPv4', address: LOOPBACK, port: 9 });
    plane.setPermissions(relay.id, [LOOPBACK]);
    // Nothing relayed yet: nothing reported.
    expect(Array.from(plane.changedRelayTraffic())).toEqual([]);
    const got = collect(client, 2);
    peer.send(Buffer.from('abc'), relay.port, LOOPBACK);
    peer.send(Buffer.from('defgh'), relay.port, LOOPBACK);
    expect(await got).toHaveLength(2);
    // A data thread counts a datagram right after sendmmsg returns, maybe after it arrived.
    await waitFor(() => plane.relayTraffic(relay.id).bytesToClient === 8);
    // id, packetsToClient, bytesToClient, packetsToPeer, bytesToPeer; `other` did not change.
    expect(Array.from(plane.changedRelayTraffic())).toEqual([relay.id, 2, 8, 0, 0]);
    expect(Array.from(plane.changedRelayTraffic())).toEqual([]);
    // What JS sends through a relay (sendFromRelay) is the caller's to count: not reported here,
    // while relayTraffic (one relay, all senders) includes it.
    const atPeer = collect(peer, 1);
    plane.sendFromRelay(
      relay.id,
      { family: 'IPv4', address: LOOPBACK, port: peer.address().port },
      Buffer.from('zz'),
    );
    expect(await atPeer).toHaveLength(1);
    expect(Array.from(plane.changedRelayTraffic())).toEqual([]);
    expect(plane.relayTraffic(relay.id)).toEqual({
      packetsToClient: 2,
      bytesToClient: 8,
      packetsToPeer: 1,
      bytesToPeer: 2,
    });
    const again = collect(client, 1);
    peer.send(Buffer.from('i'), relay.port, LOOPBACK);
    expect(await again).toHaveLength(1);
    await waitFor(() => plane.relayTraffic(relay.id).bytesToClient === 9);
    expect(Array.from(plane.changedRelayTraffic())).toEqual([relay.id, 3, 9, 0, 0]);
  });

  // Issue 19: table pushes do not wake the data thread (it applies them before it reads its next
  // batch), except every 256th while it sleeps; a close still wakes it.
  it('applies table pushes queued on a sleeping data thread in order, past the wake-up threshold', async () => {
    for (let i = 0; i < 601; i++) plane.setPermissions(relay.id, i % 2 === 0 ? [] : [LOOPBACK]);
    peer.send(Buffer.from('denied'), relay.port, LOOPBACK);
    await waitFor(() => plane.counters().droppedNoPermission === 1);
    expect(plane.counters().droppedNoPermission).toBe(1);
    for (let i = 0; i < 300; i++) plane.setPermissions(relay.id, i % 2 === 0 ? [] : [LOOPBACK]);
    const arrived = collect(client, 1);
    peer.send(Buffer.from('allowed'), relay.port, LOOPBACK);
    expect(await arrived).toHaveLength(1);
    expect(plane.counters()).toMatchObject({ received: 2, droppedNoPermission: 1 });
  });

  it('frees a closed relay port without waiting for traffic, also after unwoken table pushes', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    const port = relay.port;
    expect(plane.closeRelay(relay.id)).toBe(true);
    // The owner closes the socket when the close wakes it; nothing else is sent to that thread.
    let rebound = false;
    const end = Date.now() + 1000;
    while (!rebound && Date.now() < end) {
      const probe = dgram.createSocket('udp4');
      rebound = await new Promise<boolean>((resolve) => {
        probe.once('error', () => resolve(false));
        probe.bind({ port, address: LOOPBACK, exclusive: true }, () => resolve(true));
      });
      probe.close();
      if (!rebound) await new Promise((r) => setTimeout(r, 5));
    }
    expect(rebound).toBe(true);
  });

  it('closes relays and the plane; a closed plane refuses calls', () => {
    expect(plane.closeRelay(relay.id)).toBe(true);
    expect(plane.closeRelay(relay.id)).toBe(false);
    expect(plane.counters().relays).toBe(0);
    plane.close();
    expect(() => plane.counters()).toThrow(/NATIVE_CLOSED/);
  });
});
