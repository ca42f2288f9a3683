// One TURN core with its relay pool, its sink and its clock tick; listeners attach to it.
import type { TransportAddress } from '../stun/index.js';
import { TurnServer, type TurnServerOptions } from '../turn/index.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';
import { type RelayAddressConfig, RelayPool } from './relay-pool.js';
import { resolveStreamLimits, type StreamLimits } from './stream-limits.js';
import { StreamListener } from './stream-listener.js';
import { type TlsCertificateOptions, TlsCertificates } from './tls-certificates.js';
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

/** Options of TurnHost.listenTls: the certificate files, how to watch them, and stream limits. */
export interface TlsListenOptions extends Omit<TlsCertificateOptions, 'onError'> {
  limits?: Partial<StreamLimits>;
}

/** Anything TurnHost listens with. */
interface Listener {
  readonly address: TransportAddress;
  close(): Promise<void>;
}

/**
 * Runs a TurnServer over real sockets: relay sockets from a RelayPool, listeners that feed client
 * datagrams and stream frames in, and a coarse tick for expiry (no timer per allocation or request).
 */
export class TurnHost {
  readonly core: TurnServer;
  readonly relays: RelayPool;
  readonly sink: TransportSink;
  readonly #listeners: Listener[] = [];
  /** One watcher per certificate pair, shared by the TLS listeners using it (5349 and 443). */
  readonly #certificates = new Map<string, Promise<TlsCertificates>>();
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

  /** Starts a TURN-over-TCP listener on `ip`:`port` (RFC 8656 section 3.1; relays stay UDP). */
  async listenTcp(ip: string, port: number, limits: Partial<StreamLimits> = {}): Promise<StreamListener> {
    const listener = await StreamListener.open({
      transport: 'tcp',
      ip,
      port,
      handler: this.core,
      sink: this.sink,
      limits: resolveStreamLimits(limits),
      onError: this.#onError,
    });
    this.#listeners.push(listener);
    return listener;
  }

  /**
   * Starts a TURN-over-TLS listener on `ip`:`port` (TLS 1.2 at least). The certificate files are
   * read now (a bad pair throws TransportError ICEGATE_TRANSPORT_TLS_CERT) and reloaded whenever
   * they change; a bad pair on reload is reported to onError and the old one stays in use.
   */
  async listenTls(ip: string, port: number, options: TlsListenOptions): Promise<StreamListener> {
    const certificates = await this.#certificatesFor(options);
    const listener = await StreamListener.open({
      transport: 'tls',
      ip,
      port,
      handler: this.core,
      sink: this.sink,
      limits: resolveStreamLimits(options.limits),
      certificates,
      onError: this.#onError,
    });
    this.#listeners.push(listener);
    return listener;
  }

  /** Re-reads every TLS certificate pair now (e.g. on SIGHUP); true when one changed. */
  async reloadCertificates(): Promise<boolean> {
    const all = await Promise.all(this.#certificates.values());
    const changed = await Promise.all(all.map((c) => c.reload()));
    return changed.includes(true);
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
    const certificates = await Promise.allSettled(this.#certificates.values());
    for (const c of certificates) if (c.status === 'fulfilled') c.value.close();
  }

  #certificatesFor(options: TlsListenOptions): Promise<TlsCertificates> {
    const key = `${options.certFile}\u0000${options.keyFile}`;
    let certificates = this.#certificates.get(key);
    if (certificates === undefined) {
      certificates = TlsCertificates.load({ ...options, onError: this.#onError });
      this.#certificates.set(key, certificates);
      // A pair that fails to load is not cached: a later call may try again.
      certificates.catch(() => this.#certificates.delete(key));
    }
    return certificates;
  }

  #tick(): void {
    try {
      this.core.tick();
    } catch (error) {
      this.#onError(new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'tick failed', { cause: error }));
    }
  }
}
