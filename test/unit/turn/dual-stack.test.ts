// Dual allocations, RFC 8656 section 7.2 with ADDITIONAL-ADDRESS-FAMILY (section 18.12): both an IPv4
// and an IPv6 relayed address in one allocation, each peer relayed from the address of its family;
// ADDRESS-ERROR-CODE (section 18.13) when the IPv6 one cannot be had; Refresh by family (section 8).
import { describe, expect, it } from 'vitest';
import {
  Attr,
  readAddressErrorCode,
  readXorAddress,
  type TransportAddress,
} from '../../../src/stun/index.js';
import type { RelayRequest } from '../../../src/turn/index.js';
import { type Core, lastAllocation, makeCore, type Response } from './harness.js';

const PEER4: TransportAddress = { family: 'IPv4', address: '127.0.0.1', port: 7000 };
const PEER6: TransportAddress = { family: 'IPv6', address: '::1', port: 7001 };

function relayedAddresses(response: Response): TransportAddress[] {
  return response.message.attributes
    .filter((a) => a.type === Attr.XOR_RELAYED_ADDRESS)
    .map((a) => readXorAddress(a.value, response.message.transactionId)!);
}

function addressError(response: Response) {
  const attr = response.message.attributes.find((a) => a.type === Attr.ADDRESS_ERROR_CODE);
  return attr === undefined ? null : readAddressErrorCode(attr.value);
}

function dual(core: Core) {
  const client = core.client();
  const response = client.allocate((b) => b.addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'));
  return { client, response };
}

describe('ADDITIONAL-ADDRESS-FAMILY', () => {
  it('allocates an IPv4 and an IPv6 relayed address and returns both', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const { response } = dual(core);
    expect(response.code).toBe(200);
    expect(relayedAddresses(response).map((a) => a.family)).toEqual(['IPv4', 'IPv6']);
    expect(addressError(response)).toBeNull();
    expect(core.sink.binds.map((b: RelayRequest) => b.family)).toEqual(['IPv4', 'IPv6']);
    const allocation = lastAllocation(core);
    expect(allocation.relay.family).toBe('IPv4');
    expect(allocation.additional?.address.family).toBe('IPv6');
  });

  it('relays each peer from the relayed address of its family, both ways', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const { client } = dual(core);
    const allocation = lastAllocation(core);
    const relay6 = allocation.additional!.relayId;
    expect(client.createPermission(PEER4, PEER6).code).toBe(200);
    expect(client.channelBind(0x4001, PEER6).code).toBe(200);
    client.sendIndication(PEER4, Buffer.from('four'));
    client.channelData(0x4001, Buffer.from('six'));
    expect(core.sink.toPeer.map((p) => [p.relayId, p.peer.address, p.data.toString()])).toEqual([
      [allocation.relayId, '127.0.0.1', 'four'],
      [relay6, '::1', 'six'],
    ]);
    core.server.handlePeerPacket(relay6, { ...PEER6 }, Buffer.from('back'));
    const back = core.sink.toClient.at(-1)!.data;
    expect(back.readUInt16BE(0)).toBe(0x4001);
    expect(back.subarray(4).toString()).toBe('back');
  });

  it('allocates IPv4 alone with ADDRESS-ERROR-CODE 440 when the server has no IPv6 relay', () => {
    const core = makeCore({ relayFamilies: ['IPv4'] });
    const { client, response } = dual(core);
    expect(response.code).toBe(200);
    expect(relayedAddresses(response).map((a) => a.family)).toEqual(['IPv4']);
    expect(addressError(response)).toMatchObject({ family: 'IPv6', code: 440 });
    expect(core.sink.binds).toHaveLength(1);
    expect(client.createPermission(PEER6).code).toBe(443);
  });

  it('allocates IPv4 alone with ADDRESS-ERROR-CODE 508 when the IPv6 bind fails', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    core.sink.autoBind = false;
    const client = core.client();
    client.challenge();
    const { bytes, tid } = client.build(
      0x003,
      (b) => b.addRequestedTransport(17).addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'),
      { sign: true },
    );
    client.feed(bytes);
    const [v4, v6] = core.sink.binds;
    core.server.relayFailed(v6!.ref, 'exhausted');
    expect(client.responseTo(tid)).toBeUndefined();
    core.server.relayBound(v4!.ref, core.sink.relayFor(v4!));
    const response = client.responseTo(tid)!;
    expect(response.code).toBe(200);
    expect(relayedAddresses(response)).toHaveLength(1);
    expect(addressError(response)).toMatchObject({ family: 'IPv6', code: 508 });
  });

  it('fails with 508 and closes the IPv6 relay when the IPv4 bind fails', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    core.sink.autoBind = false;
    const client = core.client();
    client.challenge();
    const { bytes, tid } = client.build(
      0x003,
      (b) => b.addRequestedTransport(17).addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'),
      { sign: true },
    );
    client.feed(bytes);
    const [v4, v6] = core.sink.binds;
    const bound6 = core.sink.relayFor(v6!);
    core.server.relayBound(v6!.ref, bound6);
    core.server.relayFailed(v4!.ref, 'error');
    expect(client.responseTo(tid)?.code).toBe(508);
    expect(core.sink.closed).toEqual([bound6.relayId]);
    expect(core.server.allocationCount).toBe(0);
  });

  it('closes both relays when the client leaves while they are being bound', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    core.sink.autoBind = false;
    const client = core.client();
    client.challenge();
    client.feed(
      client.build(
        0x003,
        (b) => b.addRequestedTransport(17).addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'),
        { sign: true },
      ).bytes,
    );
    const [v4, v6] = core.sink.binds;
    const bound4 = core.sink.relayFor(v4!);
    const bound6 = core.sink.relayFor(v6!);
    core.server.relayBound(v4!.ref, bound4);
    core.server.clientGone(client.tuple);
    core.server.relayBound(v6!.ref, bound6);
    expect(core.sink.closed.sort()).toEqual([bound4.relayId, bound6.relayId].sort());
    expect(core.server.allocationCount).toBe(0);
  });

  it('answers 400 for IPv4 as the additional family, with REQUESTED-ADDRESS-FAMILY, or with EVEN-PORT R', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    expect(
      core.client().allocate((b) => b.addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv4')).code,
    ).toBe(400);
    expect(
      core
        .client()
        .allocate((b) =>
          b
            .addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6')
            .addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'),
        ).code,
    ).toBe(400);
    expect(
      core
        .client()
        .allocate((b) => b.addEvenPort(true).addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6')).code,
    ).toBe(400);
    expect(
      core
        .client()
        .allocate((b) => b.addEvenPort(false).addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6')).code,
    ).toBe(200);
  });

  it('deletes one family on Refresh with REQUESTED-ADDRESS-FAMILY and LIFETIME 0', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const { client } = dual(core);
    const allocation = lastAllocation(core);
    const relay4 = allocation.relayId;
    const relay6 = allocation.additional!.relayId;
    expect(client.createPermission(PEER4, PEER6).code).toBe(200);
    const drop4 = client.signed(0x004, (b) =>
      b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv4').addUint32(Attr.LIFETIME, 0),
    );
    expect(drop4.code).toBe(200);
    expect(core.sink.closed).toEqual([relay4]);
    expect(core.server.allocationCount).toBe(1);
    expect(allocation.relay.family).toBe('IPv6');
    expect(allocation.relayId).toBe(relay6);
    // The IPv4 family is gone: 443 for it, nothing relayed to IPv4 peers; IPv6 carries on.
    expect(client.createPermission(PEER4).code).toBe(443);
    client.sendIndication(PEER4, Buffer.from('x'));
    client.sendIndication(PEER6, Buffer.from('y'));
    expect(core.sink.toPeer.map((p) => p.relayId)).toEqual([relay6]);
    core.server.handlePeerPacket(relay4, { ...PEER4 }, Buffer.from('late'));
    expect(core.events.dropped).toContain('unknown-relay');
    expect(
      client.signed(0x004, (b) =>
        b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv4').addUint32(Attr.LIFETIME, 600),
      ).code,
    ).toBe(443);
    // The last family deleted deletes the allocation.
    expect(
      client.signed(0x004, (b) =>
        b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6').addUint32(Attr.LIFETIME, 0),
      ).code,
    ).toBe(200);
    expect(core.server.allocationCount).toBe(0);
    expect(core.sink.closed).toEqual([relay4, relay6]);
  });

  it('closes both relays when a dual allocation is deleted', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const { client } = dual(core);
    const allocation = lastAllocation(core);
    expect(client.refresh(0).code).toBe(200);
    expect(core.sink.closed).toEqual([allocation.relayId, allocation.additional!.relayId]);
  });

  it('reads the draft code point 0x8032 (coturn 4.6) only with the exact IPv6 value', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const draft = core.client().allocate((b) => b.add(0x8032, Buffer.from([2, 0, 0, 0])));
    expect(relayedAddresses(draft).map((a) => a.family)).toEqual(['IPv4', 'IPv6']);
    // Anything else under 0x8032 (IANA gave it to another attribute) is ignored, not refused.
    const other = core.client().allocate((b) => b.add(0x8032, Buffer.from([1, 0, 0, 0])));
    expect(other.code).toBe(200);
    expect(relayedAddresses(other).map((a) => a.family)).toEqual(['IPv4']);
  });
});
