import type dgram from 'node:dgram';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Attr, MessageBuilder, Method, newTransactionId, StunClass } from '../../../src/stun/index.js';
import {
  type NativeAddon,
  NativeDataPlane,
  type NativeRelay,
  type NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import { parseSendIndication } from '../../../src/transport/native/packet-class.js';
import { bound, collect, LOOPBACK, settled, waitFor as waitUntil } from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

/** A Send indication (RFC 8656 §11.4) to `peer` carrying `data`, with optional extras. */
function sendIndication(
  peer: { address: string; port: number; family?: 'IPv4' | 'IPv6' },
  data: Buffer,
  options: { fingerprint?: boolean; extra?: { type: number; value: Buffer }[]; noData?: boolean } = {},
): Buffer {
  const builder = new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId());
  builder.addXorAddress(Attr.XOR_PEER_ADDRESS, {
    family: peer.family ?? 'IPv4',
    address: peer.address,
    port: peer.port,
  });
  if (options.noData !== true) builder.add(Attr.DATA, data);
  for (const { type, value } of options.extra ?? []) builder.add(type, value);
  return builder.build({ fingerprint: options.fingerprint === true });
}

describe.skipIf(skipNative)('native Send indication parser (RFC 8656 §11.4)', () => {
  let addon: NativeAddon;
  beforeAll(() => {
    addon = requireNativeAddon();
  });

  it('finds the peer and the DATA value, with and without FINGERPRINT and padding', () => {
    for (const fingerprint of [false, true]) {
      for (const size of [0, 1, 3, 4, 5, 120]) {
        const data = Buffer.alloc(size, 0xab);
        const bytes = sendIndication({ address: '192.0.2.7', port: 40_000 }, data, { fingerprint });
        const parsed = parseSendIndication(addon, bytes);
        expect(parsed).toEqual({
          kind: 'relay',
          peer: { ip: '192.0.2.7', port: 40_000 },
          dataOffset: 20 + 12 + 4,
          dataLength: size,
        });
      }
    }
    const v6 = parseSendIndication(
      addon,
      sendIndication({ family: 'IPv6', address: '2001:db8::5', port: 9 }, Buffer.from('x')),
    );
    expect(v6).toMatchObject({
      kind: 'relay',
      peer: { ip: '2001:db8::5', port: 9 },
      dataOffset: 20 + 24 + 4,
    });
  });

  it('ignores DONT-FRAGMENT and comprehension-optional attributes like SOFTWARE', () => {
    const bytes = sendIndication({ address: LOOPBACK, port: 1 }, Buffer.from('ok'), {
      extra: [
        { type: Attr.DONT_FRAGMENT, value: Buffer.alloc(0) },
        { type: 0x8022, value: Buffer.from('soft') },
      ],
    });
    expect(parseSendIndication(addon, bytes).kind).toBe('relay');
  });

  it('leaves anything odd to TypeScript', () => {
    const peer = { address: LOOPBACK, port: 1 };
    const odd = [
      sendIndication(peer, Buffer.alloc(0), { noData: true }),
      sendIndication(peer, Buffer.from('a'), { extra: [{ type: Attr.DATA, value: Buffer.from('b') }] }),
      sendIndication(peer, Buffer.from('a'), { extra: [{ type: 0x7777, value: Buffer.alloc(4) }] }),
      sendIndication(peer, Buffer.from('a'), {
        extra: [{ type: Attr.MESSAGE_INTEGRITY, value: Buffer.alloc(20) }],
      }),
      sendIndication(peer, Buffer.from('a'), {
        extra: [{ type: Attr.DONT_FRAGMENT, value: Buffer.alloc(1) }],
      }),
    ];
    // A FINGERPRINT that does not match.
    const badFingerprint = sendIndication(peer, Buffer.from('a'), { fingerprint: true });
    badFingerprint.writeUInt8(
      badFingerprint.readUInt8(badFingerprint.length - 1) ^ 1,
      badFingerprint.length - 1,
    );
    odd.push(badFingerprint);
    // An attribute after FINGERPRINT.
    const trailing = sendIndication(peer, Buffer.from('a'), { fingerprint: true });
    const after = Buffer.concat([trailing, Buffer.from([0x80, 0x22, 0, 0])]);
    after.writeUInt16BE(after.length - 20, 2);
    odd.push(after);
    // An attribute length running past the message.
    const overrun = sendIndication(peer, Buffer.from('abcd'));
    overrun.writeUInt16BE(200, 20 + 12 + 2);
    odd.push(overrun);
    // XOR-PEER-ADDRESS with an unknown family.
    const family = sendIndication(peer, Buffer.from('a'));
    family[20 + 5] = 3;
    odd.push(family);
    for (const bytes of odd) expect(parseSendIndication(addon, bytes).kind).toBe('to-control');
  });

  it('is not a Send indication unless the header says so', () => {
    const bytes = sendIndication({ address: LOOPBACK, port: 1 }, Buffer.from('a'));
    const binding = Buffer.from(bytes);
    binding.writeUInt16BE(0x0011, 0); // Binding indication
    expect(parseSendIndication(addon, binding).kind).toBe('not-send');
    expect(parseSendIndication(addon, bytes.subarray(0, bytes.length - 4)).kind).toBe('not-send');
    const noCookie = Buffer.from(bytes);
    noCookie[4] = 0;
    expect(parseSendIndication(addon, noCookie).kind).toBe('not-send');
  });

  it('never throws and keeps DATA inside the datagram (property)', () => {
    const base = sendIndication({ address: LOOPBACK, port: 7 }, Buffer.from('payload!'), {
      fingerprint: true,
    });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 96 }),
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.boolean(),
        (random, flips, mutate) => {
          const bytes = mutate ? Buffer.from(base) : Buffer.from(random);
          if (mutate) for (const [at, value] of flips) bytes[at] = value;
          const parsed = parseSendIndication(addon, bytes);
          if (parsed.kind === 'relay') {
            expect(parsed.dataOffset + parsed.dataLength).toBeLessThanOrEqual(bytes.length);
            expect(bytes.readUInt16BE(0)).toBe(0x0016);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

const waitFor = (condition: () => boolean, ms = 2000): Promise<void> => waitUntil(condition, ms);

describe.skipIf(skipNative)('native listener plane: Send indications relayed natively', () => {
  let client: dgram.Socket;
  let peer: dgram.Socket;
  let plane: NativeRelayPlane;
  let relay: NativeRelay;
  let control: { data: Buffer; ip: string; port: number }[];

  beforeEach(async () => {
    client = await bound();
    peer = await bound();
    control = [];
    plane = new NativeDataPlane(requireNativeAddon()).listen(LOOPBACK, 0, (data, ip, port) => {
      control.push({ data, ip, port });
    });
    relay = plane.openRelay(LOOPBACK, 0);
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
  });

  afterEach(() => {
    plane.close();
    client.close();
    peer.close();
  });

  it('sends the DATA value from the relay socket to a permitted peer', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    const atPeer = collect(peer, 2);
    const to = { address: LOOPBACK, port: peer.address().port };
    client.send(sendIndication(to, Buffer.from('hello')), plane.listenPort ?? 0, LOOPBACK);
    client.send(
      sendIndication(to, Buffer.from('again'), { fingerprint: true }),
      plane.listenPort ?? 0,
      LOOPBACK,
    );
    expect(await atPeer).toEqual([
      { data: Buffer.from('hello'), port: relay.port },
      { data: Buffer.from('again'), port: relay.port },
    ]);
    await settled(() => plane.counters(), { sendIndications: 2, sentToPeer: 2 });
    await settled(() => plane.relayTraffic(relay.id), { packetsToPeer: 2, bytesToPeer: 10 });
    expect(plane.counters()).toMatchObject({ sendIndications: 2, sentToPeer: 2, handedToControl: 0 });
    expect(plane.relayTraffic(relay.id)).toMatchObject({ packetsToPeer: 2, bytesToPeer: 10 });
  });

  it('drops silently and counts a Send indication to a peer without permission', async () => {
    plane.setPermissions(relay.id, ['192.0.2.1']);
    const atPeer = collect(peer, 1, 300);
    client.send(
      sendIndication({ address: LOOPBACK, port: peer.address().port }, Buffer.from('no')),
      plane.listenPort ?? 0,
      LOOPBACK,
    );
    await waitFor(() => plane.counters().droppedSendNoPermission === 1);
    expect(await atPeer).toEqual([]);
    expect(plane.counters()).toMatchObject({ droppedSendNoPermission: 1, sentToPeer: 0, handedToControl: 0 });
  });

  it('hands odd Send indications, other families and unknown clients to JS', async () => {
    plane.setPermissions(relay.id, [LOOPBACK]);
    const to = { address: LOOPBACK, port: peer.address().port };
    const withIntegrity = sendIndication(to, Buffer.from('a'), {
      extra: [{ type: Attr.MESSAGE_INTEGRITY, value: Buffer.alloc(20) }],
    });
    const ipv6Peer = sendIndication({ family: 'IPv6', address: '::1', port: 5 }, Buffer.from('b'));
    const listenPort = plane.listenPort ?? 0;
    client.send(withIntegrity, listenPort, LOOPBACK);
    client.send(ipv6Peer, listenPort, LOOPBACK);
    const stranger = await bound();
    try {
      stranger.send(sendIndication(to, Buffer.from('c')), listenPort, LOOPBACK);
      await waitFor(() => control.length === 3);
      expect(control.map((c) => c.data)).toEqual(expect.arrayContaining([withIntegrity, ipv6Peer]));
      expect(plane.counters()).toMatchObject({ handedToControl: 3, sentToPeer: 0, sendIndications: 0 });
    } finally {
      stranger.close();
    }
  });
});
