/**
 * Channel numbers a client may bind. RFC 8656 section 12 allows 0x4000-0x4FFF; RFC 5766 section 11
 * allowed "0x4000 through 0x7FFF" (its count, 16,383 values, is one short of that range), and
 * RFC 5766 clients still use the upper part: coturn's turnutils_uclient draws from all of
 * 0x4000-0x7FFF, 0x7FFF included, and coturn and pion accept it. A server that accepts the old
 * range serves both kinds, and ChannelData in 0x5000-0x7FFF still starts with the bits 0b01, so
 * demultiplexing is unchanged. (Refusing 0x7FFF made about one uclient run in 170 with 50 clients
 * end in a 400.)
 */
export const MIN_BINDABLE_CHANNEL = 0x4000;
export const MAX_BINDABLE_CHANNEL = 0x7fff;

/** Decodes CHANNEL-NUMBER (RFC 8656 section 18.1): the number, or null when malformed or out of range. */
export function readBindableChannel(value: Buffer): number | null {
  if (value.length !== 4) return null;
  const channel = value.readUInt16BE(0);
  return channel >= MIN_BINDABLE_CHANNEL && channel <= MAX_BINDABLE_CHANNEL ? channel : null;
}

/** The 4-byte ChannelData header (RFC 8656 section 12.4) for a payload of `length` bytes. */
export function channelHeader(channel: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(length, 2);
  return header;
}
