import { BlockList, isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIpv4,
  formatIpv6,
  type Ipv6Words,
  ipFromBytes,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
} from '../../../src/turn/peer-filter/ip-address.js';

const word = fc.integer({ min: 0, max: 0xffffffff });
const words = fc.tuple(word, word, word, word) as fc.Arbitrary<Ipv6Words>;

/** Every group written out, with leading zeros, in upper case. */
function fullUpper(w: Ipv6Words): string {
  return w
    .flatMap((x) => [x >>> 16, x & 0xffff])
    .map((g) => g.toString(16).padStart(4, '0').toUpperCase())
    .join(':');
}

/** Six hex groups and a dotted quad. */
function dottedTail(w: Ipv6Words): string {
  const groups = w.slice(0, 3).flatMap((x) => [(x >>> 16).toString(16), (x & 0xffff).toString(16)]);
  return `${groups.join(':')}:${formatIpv4(w[3])}`;
}

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['255.255.255.255', 0xffffffff],
    ['8.8.8.8', 0x08080808],
  ])('parses %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each([
    '0177.0.0.1',
    '2130706433',
    '127.1',
    '127.0.1',
    '0x7f.0.0.1',
    '0x7f000001',
    '127.0.0.01',
    '127.0.0.1.',
    '.127.0.0.1',
    '127..0.1',
    '256.0.0.1',
    '1.2.3.4.5',
    ' 127.0.0.1',
    '127.0.0.1 ',
    '１２７.0.0.1',
    '',
  ])('refuses the legacy or malformed form %j', (text) => {
    expect(parseIpv4(text)).toBeNull();
    expect(isIPv4(text)).toBe(false);
  });

  it('agrees with node:net on generated dotted, octal, hex and integer forms', () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (text) => {
        expect(parseIpv4(text) !== null).toBe(isIPv4(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseIpv6', () => {
  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['::ffff:127.0.0.1', [0, 0, 0xffff, 0x7f000001]],
    ['::FFFF:7F00:0001', [0, 0, 0xffff, 0x7f000001]],
    ['0:0:0:0:0:ffff:7f00:1', [0, 0, 0xffff, 0x7f000001]],
    ['2001:db8::1:0:0:1', [0x20010db8, 0, 0x00010000, 1]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
  ])('parses %s', (text, expected) => {
    expect(parseIpv6(text)).toEqual(expected);
  });

  it.each([
    'fe80::1%eth0',
    'fe80::1%1',
    '[::1]',
    ':::1',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '12345::',
    'g::1',
    '::ffff:1.2.3',
    '::ffff:127.0.0.01',
    '::1.2.3.4:1',
    '1.2.3.4::',
    '::-1',
    '',
    ':',
  ])('refuses %j', (text) => {
    expect(parseIpv6(text)).toBeNull();
  });

  it('accepts every address fast-check generates, and reads it as node:net does', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIpv6(text);
        expect(parsed).not.toBeNull();
        // BlockList parses with the platform's inet_pton: it must see our canonical form as the same address.
        const list = new BlockList();
        list.addAddress(formatIpv6(parsed!), 'ipv6');
        expect(list.check(text, 'ipv6')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips canonical, full upper-case and dotted-tail spellings', () => {
    fc.assert(
      fc.property(words, (w) => {
        for (const text of [formatIpv6(w), fullUpper(w), dottedTail(w)]) {
          expect(isIPv6(text)).toBe(true);
          expect(parseIpv6(text)).toEqual(w);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('formatIpv6 (RFC 5952)', () => {
  it.each([
    [[0, 0, 0, 0], '::'],
    [[0, 0, 0, 1], '::1'],
    [[0x20010db8, 0, 0x00010000, 1], '2001:db8::1:0:0:1'],
    [[0x20010db8, 0, 1, 1], '2001:db8::1:0:1'],
    [[0x20010db8, 0x00010000, 0, 1], '2001:db8:1::1'],
    [[0x20010db8, 0x00000001, 0x00010001, 0x00010001], '2001:db8:0:1:1:1:1:1'],
    [[0, 0, 0xffff, 0x7f000001], '::ffff:127.0.0.1'],
  ] as Array<[Ipv6Words, string]>)('formats %j as %s', (w, text) => {
    expect(formatIpv6(w)).toBe(text);
  });
});

describe('parseIpAddress and ipFromBytes', () => {
  it('tells the families apart', () => {
    expect(parseIpAddress('1.2.3.4')).toEqual({ family: 4, value: 0x01020304 });
    expect(parseIpAddress('::1')).toEqual({ family: 6, words: [0, 0, 0, 1] });
    expect(parseIpAddress('localhost')).toBeNull();
  });

  it('reads network-order bytes', () => {
    expect(ipFromBytes(Uint8Array.of(127, 0, 0, 1))).toEqual({ family: 4, value: 0x7f000001 });
    const v6 = Buffer.alloc(16);
    v6.writeUInt16BE(0xffff, 10);
    v6.writeUInt32BE(0x7f000001, 12);
    expect(ipFromBytes(v6)).toEqual({ family: 6, words: [0, 0, 0xffff, 0x7f000001] });
    expect(ipFromBytes(Uint8Array.of(1, 2, 3))).toBeNull();
  });
});
