/**
 * Strict IP address text and byte forms for the peer filter. Only the forms RFC 4291 section 2.2
 * and the dotted-decimal quad define are accepted; the legacy inet_aton spellings ("127.1",
 * "0177.0.0.1", "2130706433", "0x7f.1") and IPv6 zone ids ("fe80::1%eth0") are refused, because an
 * address the filter reads one way and the socket layer another is exactly how filters get bypassed.
 * Peer addresses reach the filter from XOR-PEER-ADDRESS bytes, which never carry a zone.
 */

/** An IPv6 address as four unsigned 32-bit words, most significant first. */
export type Ipv6Words = readonly [number, number, number, number];

/** A parsed IP address: IPv4 as an unsigned 32-bit number, IPv6 as four words. */
export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: Ipv6Words };

const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;

/** Parses a dotted-decimal IPv4 address (no leading zeros, exactly four parts) to a uint32, or null. */
export function parseIpv4(text: string): number | null {
  if (text.length < 7 || text.length > 15) return null;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a virtual '.' closes the last part
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return null;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return null; // leading zero: octal in inet_aton
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return null;
    } else {
      return null;
    }
  }
  return parts === 4 ? value : null;
}

/** Parses RFC 4291 section 2.2 IPv6 text (with an optional trailing dotted quad), or null. */
export function parseIpv6(text: string): Ipv6Words | null {
  if (text.length < 2 || text.length > 45) return null;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = parseGroups(gap >= 0 ? text.slice(0, gap) : text, gap < 0);
  const tail = gap >= 0 ? parseGroups(text.slice(gap + 2), true) : [];
  if (head === null || tail === null) return null;
  const filled = head.length + tail.length;
  if (gap >= 0 ? filled > 7 : filled !== 8) return null;
  const groups = new Array<number>(8).fill(0);
  head.forEach((g, i) => {
    groups[i] = g;
  });
  tail.forEach((g, i) => {
    groups[8 - tail.length + i] = g;
  });
  const word = (i: number): number => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return [word(0), word(1), word(2), word(3)];
}

function parseGroups(part: string, dottedQuadLast: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (dottedQuadLast && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIpv4(piece);
      if (v4 === null) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX_GROUP_RE.test(piece)) {
      groups.push(Number.parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** Parses IPv4 or IPv6 text; null for anything else (including zone ids and brackets). */
export function parseIpAddress(text: string): IpAddress | null {
  if (text.includes(':')) {
    const words = parseIpv6(text);
    return words === null ? null : { family: 6, words };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

/** Reads a 4- or 16-byte network-order address (as carried in XOR-PEER-ADDRESS once un-XORed). */
export function ipFromBytes(bytes: Uint8Array): IpAddress | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 4) return { family: 4, value: view.getUint32(0) };
  if (bytes.length === 16) {
    return {
      family: 6,
      words: [view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12)],
    };
  }
  return null;
}

/** Dotted-decimal text of a uint32 IPv4 address. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** RFC 5952 canonical text of an IPv6 address (IPv4-mapped addresses keep the dotted quad, section 5). */
export function formatIpv6(words: Ipv6Words): string {
  const [w0, w1, w2, w3] = words;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIpv4(w3)}`;
  const groups = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  // Section 4.2.3: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Canonical text of a parsed address. */
export function formatIpAddress(ip: IpAddress): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.words);
}
