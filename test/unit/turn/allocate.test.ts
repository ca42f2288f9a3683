// Allocate, RFC 8656 section 7.2, on the sans-I/O core.
import { describe, expect, it } from 'vitest';
import {
  Attr,
  getAttribute,
  MessageBuilder,
  Method,
  Protocol,
  readUint32,
  readUnknownAttributes,
  readXorAddress,
  StunClass,
} from '../../../src/stun/index.js';
import { USER_QUOTA_REASON } from '../../../src/turn/index.js';
import { CoreClient, lastAllocation, makeCore, type Response } from './harness.js';

function xor(response: Response, type: number) {
  const attr = getAttribute(response.message, type);
  return attr ? readXorAddress(attr.value, response.message.transactionId) : null;
}

function lifetime(response: Response): number | null {
  const attr = getAttribute(response.message, Attr.LIFETIME);
  return attr ? readUint32(attr.value) : null;
}

describe('Allocate', () => {
  it('creates an allocation with XOR-RELAYED-ADDRESS, LIFETIME 600 and XOR-MAPPED-ADDRESS', () => {
    const core = makeCore();
    const client = core.client();
    const response = client.allocate();
    expect(response.code).toBe(200);
    expect(xor(response, Attr.XOR_RELAYED_ADDRESS)).toEqual({
      family: 'IPv4',
      address: '198.51.100.7',
      port: 50_000,
    });
    expect(xor(response, Attr.XOR_MAPPED_ADDRESS)).toEqual(client.tuple.client);
    expect(lifetime(response)).toBe(600);
    expect(client.verifies(response)).toBe(true);
    expect(core.sink.binds).toEqual([
      { ref: 1, family: 'IPv4', evenPort: false, reserveNext: false, tuple: client.tuple, dual: false },
    ]);
    expect(core.server.allocationCount).toBe(1);
    const allocation = lastAllocation(core);
    expect(allocation.tenant).toBe('acme');
    expect(allocation.expiresAt - allocation.createdAt).toBe(600_000);
  });

  it('honours a longer LIFETIME up to 3600 s and never goes below the default', () => {
    const core = makeCore();
    expect(lifetime(core.client().allocate((b) => b.addUint32(Attr.LIFETIME, 1200)))).toBe(1200);
    expect(lifetime(core.client().allocate((b) => b.addUint32(Attr.LIFETIME, 86_400)))).toBe(3600);
    expect(lifetime(core.client().allocate((b) => b.addUint32(Attr.LIFETIME, 30)))).toBe(600);
  });

  it('answers 400 without REQUESTED-TRANSPORT and 442 for TCP', () => {
    const core = makeCore();
    const client = core.client();
    expect(client.signed(Method.Allocate).code).toBe(400);
    const tcp = client.signed(Method.Allocate, (b) => b.addRequestedTransport(Protocol.TCP));
    expect(tcp.code).toBe(442);
    expect(client.verifies(tcp)).toBe(true);
    expect(core.sink.binds).toHaveLength(0);
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES to DONT-FRAGMENT (Node cannot set DF)', () => {
    const core = makeCore();
    const response = core.client().allocate((b) => b.addFlag(Attr.DONT_FRAGMENT));
    expect(response.code).toBe(420);
    const unknown = getAttribute(response.message, Attr.UNKNOWN_ATTRIBUTES);
    expect(unknown && readUnknownAttributes(unknown.value)).toEqual([Attr.DONT_FRAGMENT]);
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES to an unknown comprehension-required attribute', () => {
    const core = makeCore();
    const client = core.client();
    const response = client.allocate((b) => b.add(0x0031, Buffer.from([1, 2, 3, 4])));
    expect(response.code).toBe(420);
    expect(client.verifies(response)).toBe(true);
    const unknown = getAttribute(response.message, Attr.UNKNOWN_ATTRIBUTES);
    expect(unknown && readUnknownAttributes(unknown.value)).toEqual([0x0031]);
    // Comprehension-optional unknown attributes are ignored.
    expect(client.allocate((b) => b.add(0x8123, Buffer.from([1]))).code).toBe(200);
  });

  it('answers 437 to a second Allocate on the same 5-tuple', () => {
    const core = makeCore();
    const client = core.client();
    expect(client.allocate().code).toBe(200);
    const second = client.allocate();
    expect(second.code).toBe(437);
    expect(core.sink.binds).toHaveLength(1);
    expect(core.server.allocationCount).toBe(1);
  });

  it('answers a retransmitted Allocate with the identical bytes and creates nothing', () => {
    const core = makeCore();
    const client = core.client();
    const first = client.allocate();
    const request = client.lastRequest!;
    client.feed(request);
    client.feed(request);
    const copies = core.sink.toClient.filter((s) => s.data.equals(first.raw));
    expect(copies).toHaveLength(3);
    expect(core.sink.binds).toHaveLength(1);
    expect(core.events.created).toHaveLength(1);
  });

  it('answers a retransmitted Allocate from the allocation once the transaction cache forgot it', () => {
    const core = makeCore({ limits: { transactionCacheSize: 1 } });
    const client = core.client();
    const first = client.allocate();
    const request = client.lastRequest!;
    // Another authenticated request evicts the only cache entry.
    expect(core.client().allocate().code).toBe(200);
    client.feed(request);
    expect(core.sink.toClient.at(-1)?.data.equals(first.raw)).toBe(true);
    expect(core.sink.binds).toHaveLength(2);
  });

  it('answers 440 for an address family without a relay address, or an unknown one', () => {
    const core = makeCore();
    const v6 = core.client().allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
    expect(v6.code).toBe(440);
    const odd = core.client().allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 0x07));
    expect(odd.code).toBe(440);
    expect(core.sink.binds).toHaveLength(0);
  });

  it('allocates IPv6 relays when asked and configured', () => {
    const core = makeCore({ relayFamilies: ['IPv4', 'IPv6'] });
    const response = core.client().allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
    expect(response.code).toBe(200);
    expect(xor(response, Attr.XOR_RELAYED_ADDRESS)?.family).toBe('IPv6');
    expect(core.sink.binds[0]?.family).toBe('IPv6');
  });

  it('reserves the next port with EVEN-PORT R and hands it to an Allocate with RESERVATION-TOKEN', () => {
    const core = makeCore();
    const rtp = core.client().allocate((b) => b.addEvenPort(true));
    expect(rtp.code).toBe(200);
    expect(core.sink.binds[0]).toMatchObject({ evenPort: true, reserveNext: true });
    const relayPort = xor(rtp, Attr.XOR_RELAYED_ADDRESS)!.port;
    expect(relayPort % 2).toBe(0);
    const token = getAttribute(rtp.message, Attr.RESERVATION_TOKEN)!.value;
    expect(token).toHaveLength(8);

    const rtcp = core.client().allocate((b) => b.add(Attr.RESERVATION_TOKEN, Buffer.from(token)));
    expect(rtcp.code).toBe(200);
    expect(xor(rtcp, Attr.XOR_RELAYED_ADDRESS)!.port).toBe(relayPort + 1);
    expect(core.sink.binds).toHaveLength(1);
    // A token works once.
    expect(core.client().allocate((b) => b.add(Attr.RESERVATION_TOKEN, Buffer.from(token))).code).toBe(508);
  });

  it('closes a reserved relay nobody claimed after 30 s', () => {
    const core = makeCore();
    const rtp = core.client().allocate((b) => b.addEvenPort(true));
    const token = Buffer.from(getAttribute(rtp.message, Attr.RESERVATION_TOKEN)!.value);
    core.advance(30_000);
    core.server.tick();
    expect(core.sink.closed).toHaveLength(1);
    expect(core.client().allocate((b) => b.add(Attr.RESERVATION_TOKEN, token)).code).toBe(508);
  });

  it('answers 400 to RESERVATION-TOKEN with EVEN-PORT, and to a malformed EVEN-PORT', () => {
    const core = makeCore();
    const both = core
      .client()
      .allocate((b) => b.add(Attr.RESERVATION_TOKEN, Buffer.alloc(8)).addEvenPort(false));
    expect(both.code).toBe(400);
    expect(core.client().allocate((b) => b.add(Attr.EVEN_PORT, Buffer.alloc(4))).code).toBe(400);
    expect(core.client().allocate((b) => b.add(Attr.RESERVATION_TOKEN, Buffer.alloc(8))).code).toBe(508);
  });

  it('answers 486 beyond the per-tenant allocation limit, counting per tenant', () => {
    const core = makeCore({ limits: { maxAllocationsPerTenant: 2 } });
    expect(core.client('acme').allocate().code).toBe(200);
    expect(core.client('acme').allocate().code).toBe(200);
    const third = core.client('acme');
    const refused = third.allocate();
    expect(refused.code).toBe(486);
    expect(third.verifies(refused)).toBe(true);
    expect(core.events.quotaRefused).toEqual([{ tenant: 'acme', load: 2 }]);
    expect(core.client('globex').allocate().code).toBe(200);
  });

  it('answers 486 when the checkQuota hook or the decision says so', () => {
    const hooked = makeCore({ policy: { checkQuota: (_tenant, load) => load < 1 } });
    expect(hooked.client().allocate().code).toBe(200);
    expect(hooked.client().allocate().code).toBe(486);
    const decided = makeCore({ policy: { authorize: () => ({ allowed: true, maxAllocations: 1 }) } });
    expect(decided.client().allocate().code).toBe(200);
    expect(decided.client().allocate().code).toBe(486);
  });

  it('answers 486 to one credential beyond maxAllocationsPerUser, other credentials of the tenant unaffected', () => {
    const core = makeCore({ policy: { authorize: () => ({ allowed: true, maxAllocationsPerUser: 2 }) } });
    const first = core.client('acme');
    // The same minted credential from other source ports (one browser, several peer connections).
    const sameUser = () => new CoreClient(core, core.tuple(), first.username, first.password);
    expect(first.allocate().code).toBe(200);
    const second = sameUser();
    expect(second.allocate().code).toBe(200);
    const third = sameUser();
    const refused = third.allocate();
    expect(refused.code).toBe(486);
    expect(refused.reason).toBe(USER_QUOTA_REASON);
    expect(third.verifies(refused)).toBe(true);
    // Another user of the tenant (another credential: another expiry in its username).
    expect(core.client('acme', { ttlSeconds: 1800 }).allocate().code).toBe(200);
    expect(core.client('acme', { ttlSeconds: 1801 }).allocate().code).toBe(200);
    // A freed slot is the user's again.
    expect(second.refresh(0).code).toBe(200);
    expect(sameUser().allocate().code).toBe(200);
  });

  it('answers 403 with the reason when authorize refuses the tenant', () => {
    const core = makeCore({
      policy: {
        authorize: (tenant) =>
          tenant === 'acme' ? { allowed: false, reason: 'support_expired' } : { allowed: true },
      },
    });
    const response = core.client('acme').allocate();
    expect(response.code).toBe(403);
    expect(response.reason).toBe('support_expired');
    expect(core.events.authorizeDenied).toEqual([
      { tenant: 'acme', reason: 'support_expired', method: 'allocate' },
    ]);
    expect(core.client('globex').allocate().code).toBe(200);
  });

  it('answers 508 when the relay port range is exhausted, and frees the quota slot', () => {
    const core = makeCore({ limits: { maxAllocationsPerTenant: 1 } });
    core.sink.autoBind = false;
    const client = core.client();
    const { bytes, tid } = client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP), {
      sign: false,
    });
    client.feed(bytes);
    client.learn(client.responseTo(tid)!);
    const request = client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP));
    client.feed(request.bytes);
    expect(client.responseTo(request.tid)).toBeUndefined();
    core.server.relayFailed(core.sink.binds[0]!.ref, 'exhausted');
    expect(client.responseTo(request.tid)?.code).toBe(508);
    core.sink.autoBind = true;
    expect(core.client().allocate().code).toBe(200);
  });

  it('answers 508 while draining', () => {
    const core = makeCore();
    core.server.drain();
    expect(core.client().allocate().code).toBe(508);
  });

  it('answers 400 to a request of an unknown method or a Send request, unsigned', () => {
    const core = makeCore();
    const client = core.client();
    const unknown = client.send(0x0ab, () => {}, { sign: false });
    expect(unknown.code).toBe(400);
    const sendRequest = client.send(Method.Send, () => {}, { sign: false });
    expect(sendRequest.code).toBe(400);
  });

  it('answers Binding requests without authentication, and ignores Binding indications', () => {
    const core = makeCore();
    const client = core.client();
    const response = client.send(Method.Binding, () => {}, { sign: false });
    expect(response.code).toBe(200);
    expect(xor(response, Attr.XOR_MAPPED_ADDRESS)).toEqual(client.tuple.client);
    const sent = core.sink.toClient.length;
    client.feed(new MessageBuilder(StunClass.Indication, Method.Binding, Buffer.alloc(12, 3)).build());
    expect(core.sink.toClient).toHaveLength(sent);
    expect(core.events.dropped).toEqual([]);
  });
});
