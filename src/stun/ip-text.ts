// Text <-> bytes for IP addresses, without going through the net module (which has no
// bytes-to-text function) on the per-packet path.

/** Parses dotted-quad IPv4 text into `out` at `offset`; false when the text is not an IPv4 address. */
export function parseIPv4Into(text: string, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      // A leading zero is refused, as inet_pton does, so that "010" cannot mean two things.
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (c - 0x30);
      digits++;
      if (value > 255) return false;
    } else if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[offset + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

function parseGroups(text: string, allowIPv4Tail: boolean, groups: number[]): boolean {
  if (text === '') return true;
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowIPv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = new Uint8Array(4);
      if (!parseIPv4Into(part, v4, 0)) return false;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (part.length === 0 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return false;
    groups.push(Number.parseInt(part, 16));
  }
  return true;
}

/** Parses IPv6 text (with `::`, an embedded IPv4 tail, and an ignored `%zone`) into 16 bytes at `offset`. */
export function parseIPv6Into(text: string, out: Uint8Array, offset: number): boolean {
  const zone = text.indexOf('%');
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  if (bare.length < 2 || bare.length > 45) return false;
  const gap = bare.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (gap < 0) {
    if (!parseGroups(bare, true, head) || head.length !== 8) return false;
  } else {
    if (bare.indexOf('::', gap + 1) >= 0) return false;
    if (!parseGroups(bare.slice(0, gap), false, head)) return false;
    if (!parseGroups(bare.slice(gap + 2), true, tail)) return false;
    if (head.length + tail.length > 7) return false;
  }
  out.fill(0, offset, offset + 16);
  for (let i = 0; i < head.length; i++) {
    out[offset + 2 * i] = head[i]! >> 8;
    out[offset + 2 * i + 1] = head[i]! & 0xff;
  }
  const tailStart = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[offset + 2 * (tailStart + i)] = tail[i]! >> 8;
    out[offset + 2 * (tailStart + i) + 1] = tail[i]! & 0xff;
  }
  return true;
}

/** Dotted-quad text of the 4 bytes at `offset`. */
export function formatIPv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * Text of the 16 bytes at `offset`, exactly as Node's net and dgram modules print addresses
 * (libuv's inet_ntop, after BIND): lowercase hex, the longest run of two or more zero groups
 * (the first on a tie) as `::`, and a dotted IPv4 tail for IPv4-mapped (`::ffff:127.0.0.1`)
 * and IPv4-compatible (`::0.2.0.0`; but `::1` and `::100`, a zero run of 7) addresses.
 * So an address read from the wire compares equal to `rinfo.address`.
 */
export function formatIPv6(bytes: Uint8Array, offset: number): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!;
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      text += formatIPv4(bytes, offset + 12);
      return text;
    }
    text += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) text += ':';
  return text;
}
