import type { Ipv6Words } from './ip-address.js';

/** The IPv6 encodings that carry an IPv4 address. */
export type Ipv4Embedding =
  | 'mapped' // ::ffff:a.b.c.d, RFC 4291 section 2.5.5.2
  | 'siit' // ::ffff:0:a.b.c.d, RFC 2765 section 2.1 (IPv4-translated)
  | 'compatible' // ::a.b.c.d, RFC 4291 section 2.5.5.1 (deprecated)
  | 'nat64' // 64:ff9b::a.b.c.d, RFC 6052 section 2.1
  | 'nat64_local' // 64:ff9b:1::/48, RFC 8215 (a /96 translator prefix inside it assumed)
  | '6to4' // 2002:AABB:CCDD::/48, RFC 3056 section 2
  | 'teredo' // 2001:0:SSSS:SSSS:flags:port:~CCCC:~CCCC, RFC 4380 section 4
  | 'isatap'; // interface id [02]00:5efe:a.b.c.d, RFC 5214 section 6.1

/** The IPv4 addresses an IPv6 address carries, and whether it is only another name for one. */
export interface EmbeddedIpv4 {
  readonly embedding: Ipv4Embedding;
  /**
   * True when the IPv6 address denotes the IPv4 host itself (mapped, SIIT, compatible, NAT64
   * well-known prefix): its prefix is then not judged as IPv6 space of its own.
   */
  readonly alias: boolean;
  readonly addresses: readonly number[];
}

const NAT64_WKP = 0x0064ff9b;

/**
 * Finds the IPv4 addresses embedded in an IPv6 address, outermost encoding first (a 6to4 or other
 * prefix with an ISATAP interface id yields both). The caller handles :: and ::1 before this, as
 * they are not IPv4-compatible addresses in any useful sense.
 */
export function embeddedIpv4(words: Ipv6Words): EmbeddedIpv4[] {
  const [w0, w1, w2, w3] = words;
  const found: EmbeddedIpv4[] = [];
  if (w0 === 0 && w1 === 0) {
    if (w2 === 0x0000ffff) return [{ embedding: 'mapped', alias: true, addresses: [w3] }];
    if (w2 === 0xffff0000) return [{ embedding: 'siit', alias: true, addresses: [w3] }];
    if (w2 === 0) return [{ embedding: 'compatible', alias: true, addresses: [w3] }];
  } else if (w0 === NAT64_WKP && w1 === 0 && w2 === 0) {
    return [{ embedding: 'nat64', alias: true, addresses: [w3] }];
  } else if (w0 === NAT64_WKP && w1 >>> 16 === 0x0001) {
    found.push({ embedding: 'nat64_local', alias: false, addresses: [w3] });
  } else if (w0 >>> 16 === 0x2002) {
    found.push({ embedding: '6to4', alias: false, addresses: [((w0 << 16) | (w1 >>> 16)) >>> 0] });
  } else if (w0 === 0x20010000) {
    // The server is bits 32-63 in clear; the client's public address is bits 96-127 inverted.
    found.push({ embedding: 'teredo', alias: false, addresses: [w1, ~w3 >>> 0] });
  }
  // ISATAP: 0000:5efe or 0200:5efe (u bit), also with the g bit, on any /64 prefix.
  if ((w2 & 0xfcffffff) >>> 0 === 0x00005efe) {
    found.push({ embedding: 'isatap', alias: false, addresses: [w3] });
  }
  return found;
}
