// Permissions (RFC 8656 sections 9, 10), Send and Data indications (section 11) and channels
// (section 12) on the sans-I/O core, with a fake clock.
import { describe, expect, it } from 'vitest';
import {
  Attr,
  decodeMessage,
  getAttribute,
  Method,
  readXorAddress,
  StunClass,
  type TransportAddress,
} from '../../../src/stun/index.js';
import { type Core, CoreClient, lastAllocation, loopbackPeer, makeCore } from './harness.js';

const PEER = loopbackPeer(7000);
const PAYLOAD = Buffer.from('hello peer');

function allocated(core: Core) {
  const client = core.client();
  expect(client.allocate().code).toBe(200);
  return { client, allocation: lastAllocation(core) };
}

/** A datagram from `from` arriving at the allocation's relay. */
function fromPeer(core: Core, relayId: number, from: TransportAddress, data: Buffer): void {
  core.server.handlePeerPacket(relayId, { ...from }, data);
}

describe('permissions and Send/Data indications', () => {
  it('relays a Send indication only with a permission, and never refreshes it', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    client.sendIndication(PEER, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(0);
    expect(core.events.dropped).toContain('no-permission');

    expect(client.createPermission(PEER).code).toBe(200);
    client.sendIndication({ ...PEER, port: 9999 }, PAYLOAD);
    expect(core.sink.toPeer).toEqual([
      { relayId: allocation.relayId, peer: { ...PEER, port: 9999 }, data: PAYLOAD },
    ]);
    core.advance(299_000);
    client.sendIndication(PEER, PAYLOAD);
    core.advance(1_000);
    client.sendIndication(PEER, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(2);
  });

  it('drops peer datagrams without a permission and sends Data indications with one', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    const sent = core.sink.toClient.length;
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(sent);

    client.createPermission(PEER);
    fromPeer(core, allocation.relayId, { ...PEER, port: 7001 }, PAYLOAD);
    const data = core.sink.toClient.at(-1)!;
    expect(data.tuple).toBe(client.tuple);
    const decoded = decodeMessage(data.data);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.message.cls).toBe(StunClass.Indication);
    expect(decoded.message.method).toBe(Method.Data);
    const peer = getAttribute(decoded.message, Attr.XOR_PEER_ADDRESS)!;
    expect(readXorAddress(peer.value, decoded.message.transactionId)).toEqual({ ...PEER, port: 7001 });
    expect(getAttribute(decoded.message, Attr.DATA)?.value).toEqual(PAYLOAD);
  });

  it('lets a permission expire after 300 s unless refreshed', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    client.createPermission(PEER);
    core.advance(299_999);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    const before = core.sink.toClient.length;
    core.advance(1);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before);
    core.server.tick();
    expect(client.createPermission(PEER).code).toBe(200);
    core.advance(299_000);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before + 2);
  });

  it('answers 403 when any peer is denied and installs none; denied Send is dropped', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    const metadata: TransportAddress = { family: 'IPv4', address: '169.254.169.254', port: 80 };
    const response = client.createPermission(PEER, metadata);
    expect(response.code).toBe(403);
    expect(client.verifies(response)).toBe(true);
    expect(core.events.permissionDenied).toEqual([{ peer: metadata, reason: expect.any(String) }]);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    client.sendIndication(PEER, PAYLOAD);
    client.sendIndication(metadata, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(0);
    expect(core.events.answered.filter((a) => a.method === Method.CreatePermission)).toEqual([
      { method: Method.CreatePermission, code: 403 },
    ]);
  });

  it('denies every encoding of a denied address (IPv4-mapped IPv6) with 403', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const client = core.client();
    client.allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
    const mapped: TransportAddress = { family: 'IPv6', address: '::ffff:169.254.169.254', port: 80 };
    expect(client.createPermission(mapped).code).toBe(403);
  });

  it('answers 400 without XOR-PEER-ADDRESS, 443 for another family, 508 beyond the limit', () => {
    const core = makeCore({ limits: { maxPermissionsPerAllocation: 2 } });
    const { client } = allocated(core);
    expect(client.signed(Method.CreatePermission).code).toBe(400);
    expect(client.createPermission({ family: 'IPv6', address: '::1', port: 1 }).code).toBe(443);
    expect(
      client.createPermission(loopbackPeer(1), { family: 'IPv4', address: '127.0.0.2', port: 1 }).code,
    ).toBe(200);
    expect(client.createPermission({ family: 'IPv4', address: '127.0.0.3', port: 1 }).code).toBe(508);
    // Refreshing existing permissions is within the limit.
    expect(client.createPermission(loopbackPeer(5)).code).toBe(200);
  });
});

describe('channels', () => {
  it('binds a channel and relays ChannelData both ways', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    const response = client.channelBind(0x4001, PEER);
    expect(response.code).toBe(200);
    expect(client.verifies(response)).toBe(true);

    client.channelData(0x4001, PAYLOAD);
    expect(core.sink.toPeer).toEqual([{ relayId: allocation.relayId, peer: PEER, data: PAYLOAD }]);

    fromPeer(core, allocation.relayId, PEER, Buffer.from('back'));
    const back = core.sink.toClient.at(-1)!.data;
    expect(back.readUInt16BE(0)).toBe(0x4001);
    expect(back.readUInt16BE(2)).toBe(4);
    expect(back.subarray(4)).toEqual(Buffer.from('back'));

    // Another port of the same IP has the permission but no channel: a Data indication.
    fromPeer(core, allocation.relayId, { ...PEER, port: 7002 }, Buffer.from('other'));
    const other = decodeMessage(core.sink.toClient.at(-1)!.data);
    expect(other.ok && other.message.method).toBe(Method.Data);
  });

  it('pads ChannelData to the client on stream transports only', () => {
    const core = makeCore();
    const client = core.client();
    const tcp = new CoreClient(core, core.tuple(undefined, 'tcp'), client.username, client.password);
    tcp.allocate();
    const allocation = lastAllocation(core);
    tcp.channelBind(0x4002, PEER);
    fromPeer(core, allocation.relayId, PEER, Buffer.from('abcde'));
    const framed = core.sink.toClient.at(-1)!.data;
    expect(framed).toHaveLength(12);
    expect(framed.readUInt16BE(2)).toBe(5);
  });

  it('accepts channel numbers 0x4000-0x7FFF (RFC 5766, as uclient draws them) and answers 400 outside', () => {
    const core = makeCore();
    const { client } = allocated(core);
    expect(client.channelBind(0x3fff, PEER).code).toBe(400);
    expect(client.channelBind(0x8000, PEER).code).toBe(400);
    expect(client.channelBind(0xffff, PEER).code).toBe(400);
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    expect(client.channelBind(0x7ffe, loopbackPeer(7003)).code).toBe(200);
    expect(client.channelBind(0x7fff, loopbackPeer(7004)).code).toBe(200);
  });

  it('answers 400 when the channel or the peer is already bound to something else', () => {
    const core = makeCore();
    const { client } = allocated(core);
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    expect(client.channelBind(0x4000, loopbackPeer(7100)).code).toBe(400);
    expect(client.channelBind(0x4001, PEER).code).toBe(400);
    // The same binding again is a refresh.
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
  });

  it('answers 403 for a denied peer and reports it', () => {
    const core = makeCore();
    const { client } = allocated(core);
    const response = client.channelBind(0x4000, { family: 'IPv4', address: '10.0.0.1', port: 5000 });
    expect(response.code).toBe(403);
    expect(core.events.permissionDenied).toHaveLength(1);
  });

  it('expires channels after 600 s; the number can then be bound to another peer', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    client.refresh(3600);
    client.channelBind(0x4000, PEER);
    core.advance(290_000);
    client.createPermission(PEER);
    core.advance(290_000);
    client.createPermission(PEER);
    core.advance(19_999);
    client.channelData(0x4000, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(1);
    core.advance(1);
    client.channelData(0x4000, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(1);
    expect(core.events.dropped).toContain('no-channel');
    // Peer data now arrives as a Data indication (the permission is still alive).
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    const decoded = decodeMessage(core.sink.toClient.at(-1)!.data);
    expect(decoded.ok && decoded.message.method).toBe(Method.Data);
    core.server.tick();
    expect(client.channelBind(0x4000, loopbackPeer(7200)).code).toBe(200);
  });

  it('refreshes a channel binding and keeps its permission for the channel lifetime (issue 16)', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    client.refresh(3600);
    client.channelBind(0x4000, PEER);
    core.advance(500_000);
    // Past the 300 s permission lifetime: the ChannelBind at 0 kept the permission for 600 s.
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient.at(-1)!.data.readUInt16BE(0)).toBe(0x4000);
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    core.advance(599_999); // t = 1099.999 s: the refresh at 500 s keeps both until 1100 s
    client.channelData(0x4000, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(1);
    const before = core.sink.toClient.length;
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before + 1);
    expect(core.sink.toClient.at(-1)!.data.readUInt16BE(0)).toBe(0x4000);
    core.advance(1); // t = 1100 s: channel and permission end together
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before + 1);
    expect(core.events.dropped).toContain('no-permission');
  });

  it('never shortens a permission a ChannelBind kept: a later CreatePermission only extends', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    client.refresh(3600);
    client.channelBind(0x4000, PEER);
    core.advance(100_000);
    expect(client.createPermission(PEER).code).toBe(200); // 100 + 300 = 400 s < 600 s
    core.advance(499_999); // t = 599.999 s
    const before = core.sink.toClient.length;
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before + 1);
    core.advance(1);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(before + 1);
  });

  it('uses configured lifetimes: a 3 s permission, a 9 s channel that keeps its peer for 9 s', () => {
    const core = makeCore({ limits: { permissionLifetime: 3, channelLifetime: 9 } });
    const { client, allocation } = allocated(core);
    const other = loopbackPeer(7100);
    const otherIp = { ...other, address: '127.0.0.2' };
    expect(client.createPermission(otherIp).code).toBe(200);
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    core.advance(2_999);
    fromPeer(core, allocation.relayId, otherIp, PAYLOAD);
    const withOther = core.sink.toClient.length;
    core.advance(1); // 3 s: the CreatePermission-only peer ends on time
    fromPeer(core, allocation.relayId, otherIp, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(withOther);
    core.advance(5_999); // 8.999 s: the channel's peer still passes
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(withOther + 1);
    // A refresh of the channel alone carries the permission on for another 9 s.
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    const refreshed = core.sink.toClient.length;
    core.advance(8_999); // 17.998 s
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(refreshed + 1);
    core.advance(1);
    fromPeer(core, allocation.relayId, PEER, PAYLOAD);
    expect(core.sink.toClient).toHaveLength(refreshed + 1);
  });

  it('answers 508 beyond the channel limit', () => {
    const core = makeCore({ limits: { maxChannelsPerAllocation: 1 } });
    const { client } = allocated(core);
    expect(client.channelBind(0x4000, PEER).code).toBe(200);
    expect(client.channelBind(0x4001, loopbackPeer(7001)).code).toBe(508);
  });

  it('drops ChannelData shorter than its length, on unbound channels, or without allocation', () => {
    const core = makeCore();
    const { client } = allocated(core);
    client.channelBind(0x4000, PEER);
    client.feed(Buffer.from([0x40, 0x00, 0x00, 0x08, 1, 2, 3]));
    client.channelData(0x4005, PAYLOAD);
    core.client().channelData(0x4000, PAYLOAD);
    expect(core.sink.toPeer).toHaveLength(0);
    expect(core.events.dropped).toEqual(['short-channel-data', 'no-channel', 'no-allocation']);
  });
});
