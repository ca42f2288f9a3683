/** What the first byte of a datagram says it is. */
export type PacketKind = 'stun' | 'channel-data' | 'other';

/**
 * Tells STUN from ChannelData by the first two bits (0b00 STUN, 0b01 ChannelData),
 * RFC 8656 section 12 and RFC 7983 section 7. Only a first look: the decoders check the rest.
 */
export function classify(buf: Buffer): PacketKind {
  if (buf.length === 0) return 'other';
  const top = buf[0]! >> 6;
  if (top === 0) return 'stun';
  if (top === 1) return 'channel-data';
  return 'other';
}
