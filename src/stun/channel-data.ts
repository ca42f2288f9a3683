// ChannelData messages, RFC 8656 section 12.4: a 2-byte channel number, a 2-byte length, the data.
import { isValidChannel } from './attributes/turn.js';

/** Size of the ChannelData header. */
export const CHANNEL_DATA_HEADER_LENGTH = 4;

/** Why a buffer is not a well-formed ChannelData message. */
export type ChannelDataErrorCode = 'too_short' | 'bad_channel' | 'bad_length';

export type ChannelDataResult =
  | { ok: true; channel: number; data: Buffer }
  | { ok: false; error: ChannelDataErrorCode; detail: string };

/**
 * Decodes a ChannelData message; `data` is a view into `buf`. Bytes after the data are allowed:
 * padding is optional over UDP and required over streams (RFC 8656 section 12.5). Never throws.
 */
export function decodeChannelData(buf: Buffer): ChannelDataResult {
  if (!Buffer.isBuffer(buf) || buf.length < CHANNEL_DATA_HEADER_LENGTH) {
    return { ok: false, error: 'too_short', detail: 'shorter than the 4-byte header' };
  }
  const channel = buf.readUInt16BE(0);
  if (!isValidChannel(channel)) {
    return {
      ok: false,
      error: 'bad_channel',
      detail: `channel 0x${channel.toString(16)} outside 0x4000-0x4fff`,
    };
  }
  const length = buf.readUInt16BE(2);
  if (length > buf.length - CHANNEL_DATA_HEADER_LENGTH) {
    return {
      ok: false,
      error: 'bad_length',
      detail: `length ${length} overruns the ${buf.length}-byte packet`,
    };
  }
  return {
    ok: true,
    channel,
    data: buf.subarray(CHANNEL_DATA_HEADER_LENGTH, CHANNEL_DATA_HEADER_LENGTH + length),
  };
}

/**
 * The 4-byte header alone, so a sender can pass [header, payload] to send() without copying the
 * payload. Throws RangeError on a channel outside 0x4000..0x4FFF or a length over 65535.
 */
export function channelDataHeader(channel: number, length: number): Buffer {
  if (!isValidChannel(channel)) throw new RangeError(`bad channel number ${channel}`);
  if (!Number.isInteger(length) || length < 0 || length > 0xffff)
    throw new RangeError(`bad length ${length}`);
  const header = Buffer.allocUnsafe(CHANNEL_DATA_HEADER_LENGTH);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(length, 2);
  return header;
}

/**
 * A whole ChannelData message in one buffer; with `padded` (streams, RFC 8656 section 12.5) zero
 * bytes round it up to a multiple of 4.
 */
export function encodeChannelData(channel: number, data: Buffer, padded = false): Buffer {
  const header = channelDataHeader(channel, data.length);
  const size = CHANNEL_DATA_HEADER_LENGTH + data.length;
  const out = Buffer.alloc(padded ? (size + 3) & ~3 : size);
  header.copy(out, 0);
  data.copy(out, CHANNEL_DATA_HEADER_LENGTH);
  return out;
}
