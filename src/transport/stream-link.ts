// Writes to one TCP/TLS client: whole frames, corked so a frame's parts leave in one write, with
// a bounded queue (RFC 8656 section 12.5 padding is already in the frames the core hands over).
import type { Socket } from 'node:net';
import type { TransportAddress } from '../stun/index.js';
import type { StreamLimits } from './stream-limits.js';
import type { ClientLink } from './udp-listener.js';

/** What a StreamLink reports about its connection. */
export interface StreamLinkEvents {
  /** A relayed packet was dropped because the client reads too slowly. */
  dropped(): void;
  /** The queue passed the hard limit: the connection must end. */
  overflow(): void;
}

/**
 * Relayed data (ChannelData, whose first two bits are 0b01, or a STUN indication: class bits
 * C1 C0 = 0 1 in the message type, RFC 8489 section 5) is what a slow client may lose.
 */
export function isRelayedData(first: Buffer): boolean {
  const top = first[0]! >> 6;
  if (top === 1) return true;
  return top === 0 && first.length >= 2 && (first.readUInt16BE(0) & 0x0110) === 0x0010;
}

/** The ClientLink of one stream connection. */
export class StreamLink implements ClientLink {
  constructor(
    readonly socket: Socket,
    readonly limits: Pick<StreamLimits, 'maxQueuedBytes' | 'maxQueuedBytesHard'>,
    readonly events: StreamLinkEvents,
  ) {}

  send(_client: TransportAddress, data: Buffer | readonly Buffer[]): void {
    const socket = this.socket;
    if (!socket.writable) return;
    const queued = socket.writableLength;
    if (queued >= this.limits.maxQueuedBytes) {
      const first = Buffer.isBuffer(data) ? data : data[0];
      if (first === undefined) return;
      if (isRelayedData(first)) {
        this.events.dropped();
        return;
      }
      if (queued >= this.limits.maxQueuedBytesHard) {
        this.events.overflow();
        return;
      }
    }
    if (Buffer.isBuffer(data)) {
      socket.write(data);
      return;
    }
    socket.cork();
    for (const part of data) if (part.length > 0) socket.write(part);
    socket.uncork();
  }
}
