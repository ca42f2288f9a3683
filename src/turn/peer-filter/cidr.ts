import { formatIpv4, formatIpv6, type IpAddress, type Ipv6Words, parseIpAddress } from './ip-address.js';

/** An IPv4 or IPv6 network (RFC 4632 / RFC 4291 section 2.3), network bits already masked. */
export type Cidr =
  | {
      readonly family: 4;
      readonly network: number;
      readonly mask: number;
      readonly prefix: number;
      readonly text: string;
    }
  | {
      readonly family: 6;
      readonly network: Ipv6Words;
      readonly mask: Ipv6Words;
      readonly prefix: number;
      readonly text: string;
    };

/** Result of parsing one CIDR or a list of them; `error` names the offending entry. */
export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; error: string };
export type CidrListParse = { ok: true; cidrs: Cidr[] } | { ok: false; error: string };

const PREFIX_RE = /^(?:0|[1-9][0-9]{0,2})$/;

function maskV4(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function maskV6(prefix: number): Ipv6Words {
  const word = (i: number): number => maskV4(Math.min(32, Math.max(0, prefix - 32 * i)));
  return [word(0), word(1), word(2), word(3)];
}

/**
 * Parses "address/prefix" or a bare address (a host route). Host bits set beyond the prefix are an
 * error rather than silently masked, so a typo such as "10.1.0.0/8" is caught at start-up.
 * An IPv4-mapped IPv6 network with a prefix of 96 or more (e.g. "::ffff:10.0.0.0/104") is stored
 * as the IPv4 network it denotes, so it also matches plain IPv4 and every other encoding.
 */
export function parseCidr(text: string): CidrParse {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const ip = parseIpAddress(addressText);
  if (ip === null) return { ok: false, error: `'${text}' is not an IPv4 or IPv6 address` };
  const maxPrefix = ip.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!PREFIX_RE.test(prefixText) || Number(prefixText) > maxPrefix) {
      return { ok: false, error: `'${text}' has a prefix length outside 0..${maxPrefix}` };
    }
    prefix = Number(prefixText);
  }
  const cidr = cidrOf(ip, prefix);
  if (!cidrContainsNetworkExactly(cidr, ip)) {
    return { ok: false, error: `'${text}' has host bits set beyond /${prefix} (network is ${cidr.text})` };
  }
  return { ok: true, cidr: unmapIpv4Network(cidr) };
}

function cidrOf(ip: IpAddress, prefix: number): Cidr {
  if (ip.family === 4) {
    const mask = maskV4(prefix);
    const network = (ip.value & mask) >>> 0;
    return { family: 4, network, mask, prefix, text: `${formatIpv4(network)}/${prefix}` };
  }
  const mask = maskV6(prefix);
  const w = ip.words;
  const network: Ipv6Words = [
    (w[0] & mask[0]) >>> 0,
    (w[1] & mask[1]) >>> 0,
    (w[2] & mask[2]) >>> 0,
    (w[3] & mask[3]) >>> 0,
  ];
  return { family: 6, network, mask, prefix, text: `${formatIpv6(network)}/${prefix}` };
}

function cidrContainsNetworkExactly(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family === 4) return ip.family === 4 && ip.value === cidr.network;
  return ip.family === 6 && ip.words.every((w, i) => w === cidr.network[i]);
}

function unmapIpv4Network(cidr: Cidr): Cidr {
  if (cidr.family !== 6 || cidr.prefix < 96) return cidr;
  const [w0, w1, w2, w3] = cidr.network;
  if (w0 !== 0 || w1 !== 0 || w2 !== 0xffff) return cidr;
  return cidrOf({ family: 4, value: w3 }, cidr.prefix - 96);
}

/**
 * Parses a CIDR list as found in `TURN_DENIED_PEERS` / `TURN_ALLOWED_PEERS`: entries separated by
 * commas and/or whitespace, empty entries ignored, so "" is an empty list.
 */
export function parseCidrList(text: string): CidrListParse {
  const cidrs: Cidr[] = [];
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  for (const [i, entry] of entries.entries()) {
    const parsed = parseCidr(entry);
    if (!parsed.ok) return { ok: false, error: `entry ${i + 1}: ${parsed.error}` };
    cidrs.push(parsed.cidr);
  }
  return { ok: true, cidrs };
}

/** Whether `cidr` contains the IPv4 address `value`. */
export function ipv4InCidr(cidr: Cidr, value: number): boolean {
  return cidr.family === 4 && (value & cidr.mask) >>> 0 === cidr.network;
}

/** Whether `cidr` contains the IPv6 address `words`. */
export function ipv6InCidr(cidr: Cidr, words: Ipv6Words): boolean {
  if (cidr.family !== 6) return false;
  const { mask, network } = cidr;
  return (
    (words[0] & mask[0]) >>> 0 === network[0] &&
    (words[1] & mask[1]) >>> 0 === network[1] &&
    (words[2] & mask[2]) >>> 0 === network[2] &&
    (words[3] & mask[3]) >>> 0 === network[3]
  );
}

/** Whether `cidr` contains `ip` (an IPv4 network never contains an IPv6 address and vice versa). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.family === 4 ? ipv4InCidr(cidr, ip.value) : ipv6InCidr(cidr, ip.words);
}
