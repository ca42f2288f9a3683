// One TURN core with its relay pool, its sink and its clock tick; listeners attach to it.
import type { TransportAddress } from '../stun/index.js';
import { type TurnEvents, TurnServer, type TurnServerOptions } from '../turn/index.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';
import { streamPlaneFromEnv } from './native/data-plane-mode.js';
import type { NativeDataPlane } from './native/native-data-plane.js';
import { NativeSink } from './native/native-sink.js';
import { NativeStreamListener } from './native/native-stream-listener.js';
import { NativeUdpListener } from './native/native-udp-listener.js';
import { type RelayAddressConfig, RelayPool } from './relay-pool.js';
import { resolveStreamLimits, type StreamLimits } from './stream-limits.js';
import { StreamListener, type StreamListening } from './stream-listener.js';
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
  /**
   * TURN_DATA_PLANE=native (issue 9): the loaded addon. UDP listeners opened with listenNativeUdp
   * are the plane's own sockets, and their clients' relays are native; TCP listeners are native too
   * when the addon has stream support (unless ICEGATE_NATIVE_STREAMS=js); TLS stays on the JS path.
   */
  dataPlane?: NativeDataPlane;
  /** Told when a native listener changes how many data threads its clients use (ThreadScaler). */
  onNativeThreads?: (active: number, moved: number) => void;
  /** SO_RCVBUF/SO_SNDBUF of relay sockets on both planes, bytes (TURN_RELAY_SOCKET_BUFFER); kernel default when unset. */
  relaySocketBuffer?: number;
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
  /** The core's sink in native mode (it wraps `sink`); null on the JS data path. */
  readonly native: NativeSink | null;
  readonly #dataPlane: NativeDataPlane | null;
  readonly #listeners: Listener[] = [];
  /** UDP listeners by serverKey, to forget a client's tuple when its allocation ends. */
  readonly #udp = new Map<string, Pick<UdpListener, 'forget' | 'knownClients'>>();
  /** One watcher per certificate pair, shared by the TLS listeners using it (5349 and 443). */
  readonly #certificates = new Map<string, Promise<TlsCertificates>>();
  readonly #ticker: NodeJS.Timeout;
  readonly #onError: TransportErrorReporter;
  readonly #onNativeThreads: ((active: number, moved: number) => void) | undefined;
  #closed = false;

  constructor(options: TurnHostOptions) {
    this.#onError = options.onError ?? IGNORE_ERRORS;
    this.#onNativeThreads = options.onNativeThreads;
    this.relays = new RelayPool({
      relays: options.relays,
      minPort: options.minPort,
      maxPort: options.maxPort,
      onError: this.#onError,
      ...(options.relaySocketBuffer === undefined ? {} : { socketBuffer: options.relaySocketBuffer }),
    });
    this.sink = new TransportSink(this.relays);
    this.#dataPlane = options.dataPlane ?? null;
    this.native =
      options.dataPlane === undefined
        ? null
        : new NativeSink(this.sink, {
            relays: options.relays,
            minPort: options.minPort,
            maxPort: options.maxPort,
            onError: this.#onError,
            ...(options.relaySocketBuffer === undefined ? {} : { socketBuffer: options.relaySocketBuffer }),
          });
    this.core = new TurnServer({
      ...options.turn,
      events: this.#forgettingClients(options.turn.events ?? {}),
      sink: this.native ?? this.sink,
      relayFamilies: this.relays.families,
    });
    this.relays.attach(this.core);
    this.native?.attach(this.core);
    this.#ticker = setInterval(() => this.#tick(), options.tickMs ?? 1000);
    this.#ticker.unref();
  }

  /** Starts a UDP listener on `ip`:`port` (0 for any free port). */
  async listenUdp(ip: string, port: number): Promise<UdpListener> {
    const listener = await UdpListener.open(ip, port, this.core, this.#onError);
    this.sink.addDatagramLink(listener.serverKey, listener);
    this.#udp.set(listener.serverKey, listener);
    this.#listeners.push(listener);
    return listener;
  }

  /**
   * Starts a UDP listener owned by the native plane on `ip`:`port` (0 for any free port): its
   * clients' ChannelData and peer data are relayed natively. Needs the `dataPlane` option.
   */
  async listenNativeUdp(ip: string, port: number): Promise<NativeUdpListener> {
    if (this.native === null || this.#dataPlane === null) {
      throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', 'no native data plane: use listenUdp');
    }
    const listener = NativeUdpListener.open(
      this.#dataPlane,
      ip,
      port,
      this.core,
      this.#onError,
      this.#onNativeThreads,
    );
    this.native.addListener(listener);
    this.#udp.set(listener.serverKey, listener);
    this.#listeners.push(listener);
    return listener;
  }

  /**
   * Starts a TURN-over-TCP listener on `ip`:`port` (RFC 8656 section 3.1; relays stay UDP). With a
   * native data plane that has stream support (and ICEGATE_NATIVE_STREAMS not `js`) the plane owns
   * the connections and relays for them (NativeStreamListener); else the JS StreamListener.
   */
  async listenTcp(ip: string, port: number, limits: Partial<StreamLimits> = {}): Promise<StreamListening> {
    const resolved = resolveStreamLimits(limits);
    const plane = this.#nativeStreams();
    if (plane !== null) {
      const native = NativeStreamListener.open(plane.dataPlane, ip, port, this.core, resolved, this.#onError);
      plane.sink.addListener(native);
      this.#listeners.push(native);
      return native;
    }
    const listener = await StreamListener.open({
      transport: 'tcp',
      ip,
      port,
      handler: this.core,
      sink: this.sink,
      limits: resolved,
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
  async listenTls(ip: string, port: number, options: TlsListenOptions): Promise<StreamListening> {
    const certificates = await this.#certificatesFor(options);
    const plane = this.#nativeStreams();
    if (plane !== null) {
      const native = NativeStreamListener.open(
        plane.dataPlane,
        ip,
        port,
        this.core,
        resolveStreamLimits(options.limits),
        this.#onError,
        { transport: 'tls', certificates },
      );
      plane.sink.addListener(native);
      this.#listeners.push(native);
      return native;
    }
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

  /** The earliest notAfter of the TLS certificates in use; null without TLS listeners. */
  async certificatesNotAfter(): Promise<Date | null> {
    const all = await Promise.all(this.#certificates.values());
    const dates = all.map((c) => c.notAfter).filter((d): d is Date => d !== null);
    return dates.length === 0 ? null : new Date(Math.min(...dates.map((d) => d.getTime())));
  }

  /** Relay ports of `family` in use now, on the JS and the native data path together. */
  relayPortsInUse(family: TransportAddress['family']): number {
    return this.relays.portsInUse(family) + (this.native?.portsInUse(family) ?? 0);
  }

  /** UDP clients the listeners remember (each ends with its allocation; see ClientTuples). */
  get knownUdpClients(): number {
    let n = 0;
    for (const listener of this.#udp.values()) n += listener.knownClients;
    return n;
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
    this.native?.close();
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    const certificates = await Promise.allSettled(this.#certificates.values());
    for (const c of certificates) if (c.status === 'fulfilled') c.value.close();
  }

  /**
   * The plane and sink for TCP and TLS clients on the native plane (a native data plane with stream
   * support, ICEGATE_NATIVE_STREAMS not `js`), else null: the JS StreamListener.
   */
  #nativeStreams(): { dataPlane: NativeDataPlane; sink: NativeSink } | null {
    if (this.native === null || this.#dataPlane === null || !this.#dataPlane.supportsStreams) return null;
    return streamPlaneFromEnv() === 'native' ? { dataPlane: this.#dataPlane, sink: this.native } : null;
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

  /** `events` with allocationDeleted also making the UDP listener forget the client's tuple. */
  #forgettingClients(events: TurnEvents): TurnEvents {
    return {
      ...events,
      allocationDeleted: (allocation, reason, durationMs) => {
        const tuple = allocation.tuple;
        if (tuple.transport === 'udp') this.#udp.get(tuple.serverKey)?.forget(tuple.client);
        events.allocationDeleted?.(allocation, reason, durationMs);
      },
    };
  }

  #tick(): void {
    try {
      this.core.tick();
    } catch (error) {
      this.#onError(new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'tick failed', { cause: error }));
    }
  }
}
