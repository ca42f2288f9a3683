import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, type Ipv6Words } from '../../../src/turn/peer-filter/ip-address.js';
import { PeerFilter, type PeerFilterOptions } from '../../../src/turn/peer-filter/peer-filter.js';

const TEREDO_SERVER = 0x4136e378; // 65.54.227.120, public and in no configured list below
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Uniform addresses rarely land in a /16; mix in addresses from every special range and their edges. */
const NOTABLE_V4 = [
  0x00000000, 0x00000002, 0x0a000001, 0x0affffff, 0x64400001, 0x647fffff, 0x7f000001, 0x7fffffff, 0xa9fea9fe,
  0xac100001, 0xac1fffff, 0xc0000001, 0xc0000201, 0xc0586301, 0xc0a80101, 0xc6120001, 0xc6336401, 0xcb007101,
  0xe0000001, 0xefffffff, 0xf0000001, 0xfffffffe, 0xffffffff, 0x08080808, 0x08080404, 0x64800000, 0xac200000,
];
const ipv4 = fc.oneof(u32, fc.constantFrom(...NOTABLE_V4));
/** A 32-bit word that is not an ISATAP interface-id head, so only the encoding under test applies. */
const notIsatap = u32.filter((w) => (w & 0xfcffffff) >>> 0 !== 0x00005efe);

/** Each IPv4-embedding encoding of `a`, as IPv6 words; `fill` supplies the free bits. */
const encodings: Record<string, (a: number, fill: [number, number]) => Ipv6Words> = {
  mapped: (a) => [0, 0, 0x0000ffff, a],
  siit: (a) => [0, 0, 0xffff0000, a],
  compatible: (a) => [0, 0, 0, a],
  nat64: (a) => [0x0064ff9b, 0, 0, a],
  '6to4': (a, [x, y]) => [(0x20020000 | (a >>> 16)) >>> 0, (((a & 0xffff) << 16) | (x & 0xffff)) >>> 0, y, x],
  'teredo client': (a, [x]) => [0x20010000, TEREDO_SERVER, x, ~a >>> 0],
  'teredo server': (a, [x]) => [0x20010000, a, x, ~TEREDO_SERVER >>> 0],
  isatap: (a) => [0x26064700, 0, 0x00005efe, a],
  'isatap (u bit)': (a) => [0x26064700, 0, 0x02005efe, a],
};

/** Spellings the parser must read identically. */
const spellings: Array<(w: Ipv6Words) => string> = [
  formatIpv6,
  (w) =>
    w
      .flatMap((x) => [x >>> 16, x & 0xffff])
      .map((g) => g.toString(16).padStart(4, '0').toUpperCase())
      .join(':'),
  dottedQuadSpelling,
];

/** Six hex groups, longest zero run compressed, then the last 32 bits as a dotted quad. */
function dottedQuadSpelling(w: Ipv6Words): string {
  const head = [w[0] >>> 16, w[0] & 0xffff, w[1] >>> 16, w[1] & 0xffff, w[2] >>> 16, w[2] & 0xffff];
  let start = -1;
  let length = 1;
  for (let i = 0; i < head.length; i++) {
    let j = i;
    while (j < head.length && head[j] === 0) j++;
    if (j - i > length) {
      start = i;
      length = j - i;
    }
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  const quad = formatIpv4(w[3]);
  if (start < 0) return `${hex(head)}:${quad}`;
  const right = hex(head.slice(start + length));
  return `${hex(head.slice(0, start))}::${right}${right === '' ? '' : ':'}${quad}`;
}

const configs: Record<string, PeerFilterOptions> = {
  defaults: {},
  allowLoopback: { allowLoopback: true },
  'allow 10/8': { allow: ['10.0.0.0/8'] },
  'deny 8/8': { deny: ['8.0.0.0/8'] },
};

describe('every encoding of an IPv4 address gets the verdict of the address itself', () => {
  for (const [configName, options] of Object.entries(configs)) {
    const filter = new PeerFilter(options);
    for (const [encodingName, encode] of Object.entries(encodings)) {
      it(`${encodingName} under ${configName}`, () => {
        fc.assert(
          fc.property(
            ipv4,
            fc.tuple(notIsatap, notIsatap),
            fc.integer({ min: 0, max: spellings.length - 1 }),
            (a, fill, spelling) => {
              // ::0.0.0.0 and ::0.0.0.1 are :: and ::1, addresses in their own right.
              fc.pre(!(encodingName === 'compatible' && a <= 1));
              const words = encode(a, fill);
              const text = spellings[spelling]!(words);
              expect(filter.check(text), `${text} vs ${formatIpv4(a)}`).toEqual(filter.check(formatIpv4(a)));
            },
          ),
          { numRuns: 300 },
        );
      });
    }
  }
});

describe('a denied encoding prefix only makes the verdict stricter', () => {
  const filter = new PeerFilter({ deny: ['2002::/16', '2001::/32', '64:ff9b::/96'] });
  it('denied IPv4 stays denied; allowed IPv4 may become denied, never the reverse', () => {
    fc.assert(
      fc.property(
        ipv4,
        fc.tuple(notIsatap, notIsatap),
        fc.constantFrom(...Object.values(encodings)),
        (a, fill, encode) => {
          const direct = filter.check(formatIpv4(a));
          const encoded = filter.check(formatIpv6(encode(a, fill)));
          if (!direct.allowed) expect(encoded.allowed).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('check never throws', () => {
  const filter = new PeerFilter();
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const verdict = filter.check(text);
        expect(typeof verdict.allowed).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
