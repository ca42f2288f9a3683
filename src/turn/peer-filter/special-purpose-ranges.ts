import { type Cidr, ipv6InCidr, parseCidr } from './cidr.js';
import type { PeerDenyReason } from './deny-reason.js';
import type { Ipv6Words } from './ip-address.js';

/** One built-in denied network and why. */
export interface BuiltinDeniedRange {
  readonly cidr: string;
  readonly reason: PeerDenyReason;
  /** Where the range is defined. */
  readonly source: string;
}

/**
 * Built-in IPv4 denials, first match wins (so 255.255.255.255 reads 'broadcast', not 'reserved').
 * From the IANA IPv4 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry/) plus multicast and class E
 * (https://www.iana.org/assignments/ipv4-address-space/): everything a relay must not be pointed
 * at, i.e. not globally reachable, or this host, or not unicast. Globally reachable anycast
 * entries of the registry (AS112, AMT) are left alone; 192.0.0.0/24 is denied whole.
 */
export const BUILTIN_DENIED_IPV4: readonly BuiltinDeniedRange[] = [
  { cidr: '0.0.0.0/8', reason: 'unspecified', source: 'RFC 791 "this network"' },
  { cidr: '127.0.0.0/8', reason: 'loopback', source: 'RFC 1122' },
  { cidr: '10.0.0.0/8', reason: 'private', source: 'RFC 1918' },
  { cidr: '172.16.0.0/12', reason: 'private', source: 'RFC 1918' },
  { cidr: '192.168.0.0/16', reason: 'private', source: 'RFC 1918' },
  { cidr: '100.64.0.0/10', reason: 'cgnat', source: 'RFC 6598 shared address space' },
  { cidr: '169.254.0.0/16', reason: 'link_local', source: 'RFC 3927 (cloud metadata lives here)' },
  { cidr: '192.0.0.0/24', reason: 'reserved', source: 'RFC 6890 IETF protocol assignments' },
  { cidr: '192.0.2.0/24', reason: 'documentation', source: 'RFC 5737 TEST-NET-1' },
  { cidr: '198.51.100.0/24', reason: 'documentation', source: 'RFC 5737 TEST-NET-2' },
  { cidr: '203.0.113.0/24', reason: 'documentation', source: 'RFC 5737 TEST-NET-3' },
  { cidr: '192.88.99.0/24', reason: 'reserved', source: 'RFC 7526 deprecated 6to4 relay anycast' },
  { cidr: '198.18.0.0/15', reason: 'reserved', source: 'RFC 2544 benchmarking' },
  { cidr: '224.0.0.0/4', reason: 'multicast', source: 'RFC 5771' },
  { cidr: '255.255.255.255/32', reason: 'broadcast', source: 'RFC 919 limited broadcast' },
  { cidr: '240.0.0.0/4', reason: 'reserved', source: 'RFC 1112 class E' },
];

/**
 * Built-in IPv6 denials, first match wins, from the IANA IPv6 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv6-special-registry/) and the IPv6 Address Space
 * registry (https://www.iana.org/assignments/ipv6-address-space/). Outside these, any address not
 * in global unicast 2000::/3 is 'reserved' too (see builtinIpv6Reason). The IPv4-embedding
 * prefixes (::ffff:0:0/96, ::/96, 64:ff9b::/96, 2002::/16, 2001::/32) are not listed: the
 * filter judges them by the IPv4 addresses they carry (embedded-ipv4.ts).
 */
export const BUILTIN_DENIED_IPV6: readonly BuiltinDeniedRange[] = [
  { cidr: '::/128', reason: 'unspecified', source: 'RFC 4291' },
  { cidr: '::1/128', reason: 'loopback', source: 'RFC 4291' },
  { cidr: '64:ff9b:1::/48', reason: 'reserved', source: 'RFC 8215 local-use IPv4/IPv6 translation' },
  { cidr: '100::/64', reason: 'reserved', source: 'RFC 6666 discard-only' },
  { cidr: '2001:2::/48', reason: 'reserved', source: 'RFC 5180 benchmarking' },
  { cidr: '2001:10::/28', reason: 'reserved', source: 'RFC 4843 deprecated ORCHID' },
  { cidr: '2001:20::/28', reason: 'reserved', source: 'RFC 7343 ORCHIDv2' },
  { cidr: '2001:db8::/32', reason: 'documentation', source: 'RFC 3849' },
  { cidr: '3fff::/20', reason: 'documentation', source: 'RFC 9637' },
  { cidr: '5f00::/16', reason: 'reserved', source: 'RFC 9602 SRv6 SIDs' },
  { cidr: 'fc00::/7', reason: 'unique_local', source: 'RFC 4193' },
  { cidr: 'fe80::/10', reason: 'link_local', source: 'RFC 4291' },
  { cidr: 'fec0::/10', reason: 'private', source: 'RFC 3879 deprecated site-local' },
  { cidr: 'ff00::/8', reason: 'multicast', source: 'RFC 4291' },
];

interface CompiledRange {
  readonly cidr: Cidr;
  readonly reason: PeerDenyReason;
}

function compile(ranges: readonly BuiltinDeniedRange[]): CompiledRange[] {
  return ranges.map((range) => {
    const parsed = parseCidr(range.cidr);
    if (!parsed.ok) throw new Error(`built-in peer range ${range.cidr}: ${parsed.error}`);
    return { cidr: parsed.cidr, reason: range.reason };
  });
}

// IPv4 is judged on every check, so its table is flattened into typed arrays (no object walk).
const IPV4 = compile(BUILTIN_DENIED_IPV4);
const IPV4_NETWORKS = Uint32Array.from(IPV4, (r) => (r.cidr.family === 4 ? r.cidr.network : 0));
const IPV4_MASKS = Uint32Array.from(IPV4, (r) => (r.cidr.family === 4 ? r.cidr.mask : 0xffffffff));
const IPV4_REASONS = IPV4.map((r) => r.reason);
const IPV6 = compile(BUILTIN_DENIED_IPV6);

/** The built-in reason to deny an IPv4 address, or null when it is ordinary global unicast. */
export function builtinIpv4Reason(value: number): PeerDenyReason | null {
  for (let i = 0; i < IPV4_NETWORKS.length; i++) {
    if ((value & IPV4_MASKS[i]!) >>> 0 === IPV4_NETWORKS[i]) return IPV4_REASONS[i]!;
  }
  return null;
}

/** The built-in reason to deny an IPv6 address read literally (no embedded IPv4 considered). */
export function builtinIpv6Reason(words: Ipv6Words): PeerDenyReason | null {
  for (const range of IPV6) if (ipv6InCidr(range.cidr, words)) return range.reason;
  // Only 2000::/3 is allocated for global unicast; the rest of the space has no business as a peer.
  if (words[0] >>> 29 !== 0b001) return 'reserved';
  return null;
}
