// One TCP/TLS client connection: RFC 8656 section 12.6 / RFC 8489 section 6.2.2 framing in, the
// StreamLink out, an idle timer, and the end of the allocation when the connection closes.
import type { Socket } from 'node:net';
import { StreamDeframer } from '../stun/index.js';
import type { AllocationView, FiveTuple } from '../turn/index.js';
import { TransportError, type TransportErrorReporter } from './errors.js';
import type { StreamLimits } from './stream-limits.js';
import { StreamLink } from './stream-link.js';
import type { TransportSink } from './transport-sink.js';
import type { ClientPacketHandler } from './udp-listener.js';

/** What a stream connection needs of the TURN core. */
export interface StreamClientHandler extends ClientPacketHandler {
  /** The connection closed: its allocation ends. */
  clientGone(tuple: FiveTuple): void;
  /** The live allocation of `tuple`, if any (an idle connection with one stays open). */
  allocationOf(tuple: FiveTuple): AllocationView | undefined;
}

/** Counters of a stream listener, for metrics. */
export interface StreamCounters {
  /** Relayed packets dropped because a client read too slowly. */
  droppedToClient: number;
  /** Connections closed for idleness, for not reading, or for bytes that are not STUN/ChannelData. */
  closedIdle: number;
  closedSlow: number;
  closedFraming: number;
}

/** Shared by the connections of one listener. */
export interface StreamConnectionDeps {
  handler: StreamClientHandler;
  sink: TransportSink;
  limits: StreamLimits;
  counters: StreamCounters;
  onError: TransportErrorReporter;
}

/** Drives one accepted (and, for TLS, handshaken) socket until it closes. */
export class StreamConnection {
  readonly #deframer = new StreamDeframer();

  constructor(
    readonly socket: Socket,
    readonly tuple: FiveTuple,
    readonly deps: StreamConnectionDeps,
    onClosed: (connection: StreamConnection) => void,
  ) {
    const { sink, limits, counters } = deps;
    const link = new StreamLink(socket, limits, {
      dropped: () => {
        counters.droppedToClient++;
      },
      overflow: () => {
        counters.closedSlow++;
        socket.destroy();
      },
    });
    sink.addStreamLink(tuple, link);
    socket.setNoDelay(true);
    // setTimeout's own callback is a once-listener; the idle check must survive re-arming.
    socket.on('timeout', () => this.#idle());
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    // Resets and broken pipes are ordinary ends of a connection; 'close' follows.
    socket.on('error', () => {});
    socket.once('close', () => {
      sink.removeStreamLink(tuple);
      try {
        deps.handler.clientGone(tuple);
      } catch (error) {
        this.#report('client-gone handler threw', error);
      }
      onClosed(this);
    });
  }

  #receive(chunk: Buffer): void {
    const frames = this.#deframer.push(chunk);
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      try {
        this.deps.handler.handleClientPacket(this.tuple, frame.data);
      } catch (error) {
        this.#report('client packet handler threw', error);
      }
    }
    if (this.#deframer.error !== null && !this.socket.destroyed) {
      this.deps.counters.closedFraming++;
      this.socket.destroy();
    }
  }

  /** No byte either way for idleTimeoutMs: close, unless an allocation lives on this connection. */
  #idle(): void {
    if (this.socket.destroyed) return;
    if (this.deps.handler.allocationOf(this.tuple) !== undefined) {
      // Node does not re-arm a fired idle timer until the next byte: check again later.
      this.socket.setTimeout(this.deps.limits.idleTimeoutMs);
      return;
    }
    this.deps.counters.closedIdle++;
    this.socket.destroy();
  }

  #report(message: string, cause: unknown): void {
    this.deps.onError(new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', message, { cause }));
  }
}
