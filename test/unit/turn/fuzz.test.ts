// No byte sequence makes the core throw, from a client or from a peer (issue 2: "no byte
// sequence crashes it"), including mutations of valid requests that get deep into the handlers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Attr, MAGIC_COOKIE, Method, Protocol } from '../../../src/stun/index.js';
import { lastAllocation, loopbackPeer, makeCore } from './harness.js';

function setup() {
  const core = makeCore();
  const client = core.client();
  client.allocate();
  client.channelBind(0x4000, loopbackPeer(7000));
  client.createPermission(loopbackPeer(7001));
  return { core, client, allocation: lastAllocation(core) };
}

/** Valid requests of every method, signed, as mutation seeds. */
function seeds(client: ReturnType<typeof setup>['client']): Buffer[] {
  return [
    client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP).addEvenPort(true)).bytes,
    client.build(Method.Refresh, (b) => b.addUint32(Attr.LIFETIME, 700)).bytes,
    client.build(Method.CreatePermission, (b) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, loopbackPeer(9)))
      .bytes,
    client.build(Method.ChannelBind, (b) =>
      b
        .add(Attr.CHANNEL_NUMBER, Buffer.from([0x40, 0x01, 0, 0]))
        .addXorAddress(Attr.XOR_PEER_ADDRESS, loopbackPeer(9)),
    ).bytes,
    client.build(Method.Binding, () => {}, { sign: false, fingerprint: true }).bytes,
  ];
}

describe('the core under random input', () => {
  it('never throws on random client datagrams', () => {
    const { core, client } = setup();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.boolean(), (bytes, stunShaped) => {
        const data = Buffer.from(bytes);
        if (stunShaped && data.length >= 20) {
          data[0]! &= 0x3f;
          data.writeUInt16BE((data.length - 20) & ~3, 2);
          data.writeUInt32BE(MAGIC_COOKIE, 4);
        }
        expect(() => client.feed(data)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
    expect(core.server.allocationCount).toBeGreaterThanOrEqual(0);
  });

  it('never throws on mutated valid requests', () => {
    const { client } = setup();
    const valid = seeds(client);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (which, flips, cut) => {
          const data = Buffer.from(valid[which]!);
          for (const [at, value] of flips) data[at % data.length] = value;
          const truncated = cut % 3 === 0 ? data.subarray(0, cut % data.length) : data;
          expect(() => client.feed(truncated)).not.toThrow();
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on random peer datagrams, to known and unknown relays', () => {
    const { core, allocation } = setup();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.constantFrom(allocation.relayId, 424242),
        fc.constantFrom(7000, 7001, 7002),
        (bytes, relayId, port) => {
          expect(() =>
            core.server.handlePeerPacket(relayId, loopbackPeer(port), Buffer.from(bytes)),
          ).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
