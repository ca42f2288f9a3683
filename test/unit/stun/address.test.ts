import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TransportAddress } from '../../../src/stun/address.js';
import {
  encodeAddress,
  encodeXorAddress,
  readAddress,
  readXorAddress,
} from '../../../src/stun/attributes/address.js';
import { Attr, Method, StunClass } from '../../../src/stun/constants.js';
import { formatIPv6, parseIPv4Into, parseIPv6Into } from '../../../src/stun/ip-text.js';
import { decodeMessage, getAttribute, MessageBuilder } from '../../../src/stun/message.js';

const TID = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');

/** Node's own text for 16 address bytes: give it the uncompressed form and let it canonicalise. */
function nodeText(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

// Bytes that are mostly zero groups, so runs of zeros, IPv4-mapped and -compatible forms come up often.
const ipv6Bytes = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((words) => {
    const out = new Uint8Array(16);
    words.forEach((w, i) => {
      out[2 * i] = w >> 8;
      out[2 * i + 1] = w & 0xff;
    });
    return out;
  });

describe('IPv6 text', () => {
  it('prints as Node does (examples)', () => {
    const cases: Record<string, string> = {
      '::1': '::1',
      '::': '::',
      '::ffff:7f00:1': '::ffff:127.0.0.1',
      '::7f00:1': '::127.0.0.1',
      '::100': '::100',
      '2001:db8:0:0:1:0:0:1': '2001:db8::1:0:0:1',
      '2001:DB8:1234:5678:11:2233:4455:6677': '2001:db8:1234:5678:11:2233:4455:6677',
      'fe80::1%eth0': 'fe80::1',
      '1::': '1::',
      '64:ff9b::192.0.2.1': '64:ff9b::c000:201',
    };
    for (const [input, printed] of Object.entries(cases)) {
      const bytes = new Uint8Array(16);
      expect(parseIPv6Into(input, bytes, 0), input).toBe(true);
      expect(formatIPv6(bytes, 0), input).toBe(printed);
      expect(nodeText(bytes), input).toBe(printed);
    }
  });

  it('prints any 16 bytes exactly as Node does', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        expect(formatIPv6(bytes, 0)).toBe(nodeText(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('parses what it prints, back to the same bytes', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const back = new Uint8Array(16);
        expect(parseIPv6Into(formatIPv6(bytes, 0), back, 0)).toBe(true);
        expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses malformed text', () => {
    const out = new Uint8Array(16);
    for (const bad of [
      '',
      ':',
      ':::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'g::1',
      '12345::',
      '::1.2.3',
      ':1::',
    ]) {
      expect(parseIPv6Into(bad, out, 0), bad).toBe(false);
    }
  });
});

describe('IPv4 text', () => {
  it('parses dotted quads and refuses anything else', () => {
    const out = new Uint8Array(4);
    expect(parseIPv4Into('192.0.2.1', out, 0)).toBe(true);
    expect([...out]).toEqual([192, 0, 2, 1]);
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1..2.3',
      '1.2.3.4 ',
      'a.b.c.d',
      '::1',
    ]) {
      expect(parseIPv4Into(bad, out, 0), bad).toBe(false);
    }
  });
});

describe('MAPPED-ADDRESS and XOR-*-ADDRESS', () => {
  const v4: TransportAddress = { family: 'IPv4', address: '192.0.2.1', port: 32853 };
  const v6: TransportAddress = {
    family: 'IPv6',
    address: '2001:db8:1234:5678:11:2233:4455:6677',
    port: 32853,
  };

  it('encodes XOR-MAPPED-ADDRESS as in RFC 5769', () => {
    expect(encodeXorAddress(v4, TID).toString('hex')).toBe('0001a147e112a643');
    expect(encodeXorAddress(v6, TID).toString('hex')).toBe('0002a1470113a9faa5d3f179bc25f4b5bed2b9d9');
  });

  it('encodes MAPPED-ADDRESS plainly', () => {
    expect(encodeAddress(v4).toString('hex')).toBe('00018055c0000201');
    expect(readAddress(encodeAddress(v6))).toEqual(v6);
  });

  it('round-trips arbitrary IPv4 and IPv6 addresses, XORed or not', () => {
    const address = fc.oneof(
      fc.ipV4().map((a) => ({ family: 'IPv4' as const, address: a })),
      ipv6Bytes.map((b) => ({ family: 'IPv6' as const, address: formatIPv6(b, 0) })),
    );
    fc.assert(
      fc.property(
        address,
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        (a, port, tid) => {
          const addr = { ...a, port };
          const id = Buffer.from(tid);
          expect(readAddress(encodeAddress(addr))).toEqual(addr);
          expect(readXorAddress(encodeXorAddress(addr, id), id)).toEqual(addr);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads null for wrong lengths, unknown families and mismatched family/length', () => {
    expect(readAddress(Buffer.alloc(0))).toBeNull();
    expect(readAddress(Buffer.from('0003000001020304', 'hex'))).toBeNull();
    expect(readAddress(Buffer.from('0002000001020304', 'hex'))).toBeNull();
    expect(readAddress(Buffer.alloc(20, 0).fill(1, 1, 2))).toBeNull(); // IPv4 family, IPv6 length
    expect(readXorAddress(Buffer.from('0001a147e112a643', 'hex'), Buffer.alloc(4))).toBeNull();
    expect(readXorAddress(Buffer.from('0001a147e112a6', 'hex'), TID)).toBeNull();
  });

  it('throws RangeError when encoding a malformed address or port', () => {
    expect(() => encodeAddress({ family: 'IPv4', address: '::1', port: 1 })).toThrow(RangeError);
    expect(() => encodeAddress({ family: 'IPv6', address: '1.2.3.4', port: 1 })).toThrow(RangeError);
    expect(() => encodeAddress({ family: 'IPv4', address: '1.2.3.4', port: 65536 })).toThrow(RangeError);
  });

  it('builder adders use the message transaction id', () => {
    const buf = new MessageBuilder(StunClass.SuccessResponse, Method.Allocate, TID)
      .addXorAddress(Attr.XOR_RELAYED_ADDRESS, v6)
      .addXorAddress(Attr.XOR_MAPPED_ADDRESS, v4)
      .addAddress(Attr.ALTERNATE_SERVER, v4)
      .build();
    const r = decodeMessage(buf);
    if (!r.ok) throw new Error(r.error);
    const m = r.message;
    expect(readXorAddress(getAttribute(m, Attr.XOR_RELAYED_ADDRESS)!.value, m.transactionId)).toEqual(v6);
    expect(readXorAddress(getAttribute(m, Attr.XOR_MAPPED_ADDRESS)!.value, m.transactionId)).toEqual(v4);
    expect(readAddress(getAttribute(m, Attr.ALTERNATE_SERVER)!.value)).toEqual(v4);
  });
});
