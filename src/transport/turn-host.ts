// One TURN core with its relay pool, its sink and its clock tick; listeners attach to it.
import type { TransportAddress } from '../stun/index.js';
import { TurnServer, type TurnServerOptions } from '../turn/index.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';
import { type RelayAddressConfig, RelayPool } from './relay-pool.js';
import { TransportSink } from './transport-sink.js';
import { UdpListener } from './udp-listener.js';

/** Options of a TurnHost. */
export interface TurnHostOptions {
  /** Relay addresses, one per family (IPv4 and/or IPv6). */
  relays: readonly RelayAddressConfig[];
  minPort: number;
  maxPort: number;
  /** The core's options, without what the host provides. */
  turn: Omit<TurnServerOptions, 'sink' | 'relayFamilies'>;
  /** Period of TurnServer.tick(), milliseconds; 1000 by default. */
  tickMs?: number;
  /** Reporter for socket errors and handler exceptions (they never crash the process). */
  onError?: TransportErrorReporter;
}

/**
 * Runs a TurnServer over real sockets: relay sockets from a RelayPool, listeners that feed client
 * datagrams in, and a coarse tick for expiry (no timer per allocation or per request).
 */
export class TurnHost {
  readonly core: TurnServer;
  readonly relays: RelayPool;
  readonly sink: TransportSink;
  readonly #listeners: UdpListener[] = [];
  readonly #ticker: NodeJS.Timeout;
  readonly #onError: TransportErrorReporter;
  #closed = false;

  constructor(options: TurnHostOptions) {
    this.#onError = options.onError ?? IGNORE_ERRORS;
    this.relays = new RelayPool({
      relays: options.relays,
      minPort: options.minPort,
      maxPort: options.maxPort,
      onError: this.#onError,
    });
    this.sink = new TransportSink(this.relays);
    this.core = new TurnServer({ ...options.turn, sink: this.sink, relayFamilies: this.relays.families });
    this.relays.attach(this.core);
    this.#ticker = setInterval(() => this.#tick(), options.tickMs ?? 1000);
    this.#ticker.unref();
  }

  /** Starts a UDP listener on `ip`:`port` (0 for any free port). */
  async listenUdp(ip: string, port: number): Promise<UdpListener> {
    const listener = await UdpListener.open(ip, port, this.core, this.#onError);
    this.sink.addDatagramLink(listener.serverKey, listener);
    this.#listeners.push(listener);
    return listener;
  }

  /** Addresses of the listeners, in the order they were opened. */
  addresses(): TransportAddress[] {
    return this.#listeners.map((listener) => listener.address);
  }

  /** Ends every allocation, closes relays and listeners. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    this.core.close();
    this.relays.closeAll();
    await Promise.all(this.#listeners.map((listener) => listener.close()));
  }

  #tick(): void {
    try {
      this.core.tick();
    } catch (error) {
      this.#onError(new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'tick failed', { cause: error }));
    }
  }
}
