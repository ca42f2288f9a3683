// Framing STUN and ChannelData over TCP/TLS (RFC 8489 section 6.2.2, RFC 8656 section 12.6): a
// STUN message carries its own length; a ChannelData message is padded to a multiple of 4 on streams.
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';

/** Why a stream can no longer be framed; the caller closes the connection. */
export type FramingErrorCode =
  | 'not_stun_or_channel_data'
  | 'bad_magic_cookie'
  | 'bad_length'
  | 'frame_too_large';

export interface FramingError {
  code: FramingErrorCode;
  detail: string;
}

/** One whole frame cut from the stream; `data` is a view (into the pushed chunk when possible). */
export interface StreamFrame {
  kind: 'stun' | 'channel-data';
  /** The STUN message, or the ChannelData message without its stream padding. */
  data: Buffer;
}

export interface StreamDeframerOptions {
  /**
   * Most bytes held between pushes, which is also the largest frame accepted (padding included): a
   * frame announcing more is a fatal `frame_too_large` as soon as its header is in. Default 65552,
   * the largest frame the wire format allows; values under 20 (a bare STUN header) count as 20.
   */
  maxBufferedBytes?: number;
}

/** Largest possible frame: a STUN header and a 65532-byte body (a ChannelData frame is at most 65540). */
export const MAX_STREAM_FRAME = HEADER_LENGTH + 0xfffc;

// Bytes needed before a frame's size is known: the STUN header up to the magic cookie.
const PEEK = 8;

/**
 * Cuts a byte stream into STUN and ChannelData frames. Never throws: on a byte sequence that is
 * neither (first two bits 1x, a STUN header without the cookie or with a length not a multiple of
 * 4, a frame over the limit) it stops, sets `error`, and drops what it held.
 */
export class StreamDeframer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  // Size of the frame at the head of `pending`, or -1 while its header is incomplete.
  private pendingFrameSize = -1;
  private failure: FramingError | null = null;
  private readonly maxFrameBytes: number;

  constructor(options: StreamDeframerOptions = {}) {
    this.maxFrameBytes = Math.max(options.maxBufferedBytes ?? MAX_STREAM_FRAME, HEADER_LENGTH);
  }

  /** The fatal error, once the stream cannot be framed any more. */
  get error(): FramingError | null {
    return this.failure;
  }

  /** Bytes held back while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Feeds the next bytes of the stream; returns the frames they complete, in order. */
  push(chunk: Buffer): StreamFrame[] {
    const frames: StreamFrame[] = [];
    if (this.failure !== null || chunk.length === 0) return frames;
    if (this.pendingBytes === 0) {
      this.cut(chunk, frames);
      return frames;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // While the frame is known and incomplete, wait without copying anything.
    if (this.pendingFrameSize >= 0 && this.pendingBytes < this.pendingFrameSize) return frames;
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.cut(joined, frames);
    return frames;
  }

  private cut(buf: Buffer, frames: StreamFrame[]): void {
    let offset = 0;
    while (offset < buf.length) {
      const remaining = buf.length - offset;
      const size = this.frameSize(buf, offset, remaining);
      if (this.failure !== null) return;
      if (size < 0 || size > remaining) {
        this.pending = [buf.subarray(offset)];
        this.pendingBytes = remaining;
        this.pendingFrameSize = size;
        return;
      }
      const first = buf[offset]!;
      if (first >> 6 === 0) {
        frames.push({ kind: 'stun', data: buf.subarray(offset, offset + size) });
      } else {
        const length = buf.readUInt16BE(offset + 2);
        frames.push({ kind: 'channel-data', data: buf.subarray(offset, offset + 4 + length) });
      }
      offset += size;
    }
    this.pendingFrameSize = -1;
  }

  /** Size of the frame at `offset` including padding; -1 when its header is not all there yet. */
  private frameSize(buf: Buffer, offset: number, remaining: number): number {
    const top = buf[offset]! >> 6;
    if (top >= 2) return this.fail('not_stun_or_channel_data', `first byte 0x${buf[offset]!.toString(16)}`);
    let size: number;
    if (top === 0) {
      if (remaining < PEEK) return -1;
      const length = buf.readUInt16BE(offset + 2);
      if (length % 4 !== 0) return this.fail('bad_length', `STUN length ${length} is not a multiple of 4`);
      if (buf.readUInt32BE(offset + 4) !== MAGIC_COOKIE)
        return this.fail('bad_magic_cookie', 'no magic cookie');
      size = HEADER_LENGTH + length;
    } else {
      if (remaining < 4) return -1;
      size = 4 + ((buf.readUInt16BE(offset + 2) + 3) & ~3);
    }
    if (size > this.maxFrameBytes)
      return this.fail('frame_too_large', `${size}-byte frame over ${this.maxFrameBytes}`);
    return size;
  }

  private fail(code: FramingErrorCode, detail: string): number {
    this.failure = { code, detail };
    this.pending = [];
    this.pendingBytes = 0;
    return -1;
  }
}
