// The client-facing UDP socket of TURN_DATA_PLANE=native (issue 9): the native plane owns it and
// relays ChannelData of its clients itself; what it hands over (STUN, unknown clients) goes to
// the TURN core as a datagram from a JS UdpListener would.
import type { TransportAddress } from '../../stun/index.js';
import type { FiveTuple } from '../../turn/index.js';
import { familyOf } from '../address-family.js';
import { ClientTuples } from '../client-tuples.js';
import { TransportError, type TransportErrorReporter } from '../errors.js';
import type { ClientLink, ClientPacketHandler } from '../udp-listener.js';
import type { NativeDataPlane } from './native-data-plane.js';
import type { NativeRelayPlane } from './native-relay-plane.js';
import { ThreadScaler } from './thread-scaler.js';

/**
 * ICEGATE_NATIVE_SCALING: `adaptive` (default) steers clients to as many data threads as the load
 * needs (ThreadScaler); `all` spreads them over every thread from the start.
 */
export function nativeScalingFromEnv(): 'adaptive' | 'all' {
  const raw = process.env.ICEGATE_NATIVE_SCALING;
  if (raw === undefined || raw === '' || raw === 'adaptive') return 'adaptive';
  if (raw === 'all') return 'all';
  throw new Error(`ICEGATE_NATIVE_SCALING must be adaptive or all, got "${raw}"`);
}

/** A UDP listening socket owned by a native relay plane (`TURN_LISTEN_IP`:`TURN_PORT`). */
export class NativeUdpListener implements ClientLink {
  /** The plane: its relays are the relays of this listener's UDP clients. */
  readonly plane: NativeRelayPlane;
  /** The bound address (the port is known once bound, also when 0 was asked). */
  readonly address: TransportAddress;
  readonly #tuples: ClientTuples;
  /** Sets how many data threads are active, when ICEGATE_NATIVE_SCALING is adaptive. */
  readonly scaler: ThreadScaler | null;
  /** Datagrams to clients the kernel refused (full buffer, unreachable): UDP is best effort. */
  sendErrors = 0;
  #closed = false;

  private constructor(
    plane: NativeRelayPlane,
    address: TransportAddress,
    tuples: ClientTuples,
    scaler: ThreadScaler | null,
  ) {
    this.plane = plane;
    this.address = address;
    this.#tuples = tuples;
    this.scaler = scaler;
  }

  /**
   * Opens the plane's listening socket on `ip`:`port` (0 for any free port) and feeds `handler`
   * what the plane does not relay itself. `::` serves IPv4 clients too (dual stack).
   */
  static open(
    dataPlane: NativeDataPlane,
    ip: string,
    port: number,
    handler: ClientPacketHandler,
    onError: TransportErrorReporter,
    onThreads?: (active: number, moved: number) => void,
  ): NativeUdpListener {
    const scaling = nativeScalingFromEnv();
    const family = familyOf(ip, 'listen IP');
    let tuples: ClientTuples | null = null;
    const onControlPacket = (data: Buffer, from: string, fromPort: number): void => {
      if (tuples === null) return;
      try {
        const remote = {
          address: from,
          family: from.includes(':') ? ('IPv6' as const) : ('IPv4' as const),
          port: fromPort,
          size: data.length,
        };
        handler.handleClientPacket(tuples.tupleFor(remote), data);
      } catch (error) {
        onError(
          new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'client packet handler threw', {
            cause: error,
          }),
        );
      }
    };
    let plane: NativeRelayPlane;
    try {
      plane = dataPlane.listen(ip, port, onControlPacket);
    } catch (error) {
      throw new TransportError(
        'ICEGATE_TRANSPORT_LISTEN_FAILED',
        `cannot listen on ${ip}:${port} (native): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const address: TransportAddress = { family, address: ip, port: plane.listenPort ?? port };
    tuples = new ClientTuples(address);
    const scaler =
      scaling === 'all'
        ? null
        : new ThreadScaler(plane, {
            ...(onThreads === undefined ? {} : { onChange: onThreads }),
            onError: (error) =>
              onError(
                new TransportError(
                  'ICEGATE_TRANSPORT_NATIVE_THREADS',
                  'changing the active data threads failed',
                  {
                    cause: error,
                  },
                ),
              ),
          }).start();
    return new NativeUdpListener(plane, address, tuples, scaler);
  }

  /** The listener's key, as in FiveTuple.serverKey. */
  get serverKey(): string {
    return `udp:${this.address.address}:${this.address.port}`;
  }

  /** Clients currently remembered (bounded). */
  get knownClients(): number {
    return this.#tuples.size;
  }

  /** Forgets the tuple of `client` (its allocation ended). */
  forget(client: TransportAddress): void {
    this.#tuples.forget(client);
  }

  /** Sends one datagram from the listening port (responses, and peer data of JS relays). */
  send(client: TransportAddress, data: Buffer | readonly Buffer[]): void {
    if (this.#closed) return;
    try {
      this.plane.sendToClient(client, Buffer.isBuffer(data) ? data : Buffer.concat(data));
    } catch {
      this.sendErrors++;
    }
  }

  /** Datagrams from the core to the client of `tuple` (NativeClientListener). */
  sendTo(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    this.send(tuple.client, data);
  }

  /** The relay's client is `tuple`'s (NativeClientListener). */
  attachRelay(nativeId: number, tuple: FiveTuple): void {
    this.plane.setClient(nativeId, tuple.client);
  }

  /** Closes the plane: the listening socket and every relay socket on it. */
  close(): Promise<void> {
    this.#closed = true;
    this.scaler?.stop();
    this.plane.close();
    return Promise.resolve();
  }
}
