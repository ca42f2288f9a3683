// Bounds of the TCP/TLS listeners: a slow, silent or greedy client costs a bounded amount of
// memory and file descriptors, and never holds up anybody else.
import { TransportError } from './errors.js';

/** Limits of one stream (TCP or TLS) listener. */
export interface StreamLimits {
  /** Open connections on the listener; further ones are refused at accept. */
  maxConnections: number;
  /** Open connections from one client IP (a corporate NAT puts many browsers behind one). */
  maxConnectionsPerIp: number;
  /**
   * Milliseconds without a byte in either direction after which a connection with no allocation
   * is closed (a half-open client, half a frame and then silence). With an allocation, its
   * lifetime governs instead (closing the connection would end the allocation).
   */
  idleTimeoutMs: number;
  /** TLS only: milliseconds a client has to finish its handshake. */
  handshakeTimeoutMs: number;
  /**
   * Bytes queued towards one client beyond which relayed data (ChannelData, Data indications) to
   * it is dropped: media is loss-tolerant, and a client that reads slowly must not grow memory.
   */
  maxQueuedBytes: number;
  /**
   * Bytes queued beyond which the connection is closed: the client is not reading even its STUN
   * responses. Responses are never dropped silently; the connection ends instead.
   */
  maxQueuedBytesHard: number;
}

/** Defaults sized for browsers behind corporate NATs on a node with tens of thousands of clients. */
export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = Object.freeze({
  maxConnections: 20_000,
  maxConnectionsPerIp: 1_000,
  idleTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxQueuedBytes: 256 * 1024,
  maxQueuedBytesHard: 1024 * 1024,
});

/** Merges `partial` over the defaults; throws TransportError naming the bad value. */
export function resolveStreamLimits(partial: Partial<StreamLimits> = {}): StreamLimits {
  const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new TransportError(
        'ICEGATE_TRANSPORT_BAD_OPTION',
        `stream limit ${name} must be a positive integer`,
      );
    }
  }
  if (limits.maxQueuedBytesHard < limits.maxQueuedBytes) {
    throw new TransportError(
      'ICEGATE_TRANSPORT_BAD_OPTION',
      'stream limit maxQueuedBytesHard must be at least maxQueuedBytes',
    );
  }
  return limits;
}
