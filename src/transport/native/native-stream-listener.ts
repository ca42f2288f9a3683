// TURN over TCP and TLS served by the native plane (issue 19): the plane accepts the connections
// (TLS: a memory-BIO OpenSSL session per connection, native/src/tls_session.h), frames them (RFC 8489 §6.2.2, RFC 8656 §12.5-12.6) and relays ChannelData and Send indications of their
// allocations on the connection's data thread; the frames it hands over (STUN, ChannelData before
// an allocation) reach the TURN core with the same FiveTuple a JS StreamListener would make, and
// the core's answers go back through the plane (a command to the owning thread).
import type { TransportAddress } from '../../stun/index.js';
import { FiveTuple } from '../../turn/index.js';
import { familyOf } from '../address-family.js';
import { clientAddressOf } from '../client-address.js';
import { TransportError, type TransportErrorReporter } from '../errors.js';
import type { StreamClientHandler } from '../stream-connection.js';
import type { StreamLimits } from '../stream-limits.js';
import type { StreamListenerStats } from '../stream-listener.js';
import type { TlsCertificates } from '../tls-certificates.js';
import { STREAM_EVENT } from './native-addon.js';
import type { NativeDataPlane } from './native-data-plane.js';
import type { NativeRelayPlane } from './native-relay-plane.js';

/** A TCP listening socket owned by a native relay plane; its clients' relays live on the same plane. */
export class NativeStreamListener {
  readonly transport: 'tcp' | 'tls';
  readonly plane: NativeRelayPlane;
  readonly address: TransportAddress;
  /** Connections TypeScript has heard of (a frame came), by plane connection id. */
  readonly #tuples: Map<number, FiveTuple>;
  /** The same, by FiveTuple.key. */
  readonly #ids: Map<string, number>;
  readonly #handler: StreamClientHandler;
  readonly #unsubscribe: (() => void) | null;
  #closed = false;

  private constructor(
    transport: 'tcp' | 'tls',
    plane: NativeRelayPlane,
    address: TransportAddress,
    handler: StreamClientHandler,
    tuples: Map<number, FiveTuple>,
    ids: Map<string, number>,
    unsubscribe: (() => void) | null,
  ) {
    this.transport = transport;
    this.#unsubscribe = unsubscribe;
    this.plane = plane;
    this.address = address;
    this.#handler = handler;
    this.#tuples = tuples;
    this.#ids = ids;
  }

  /**
   * Binds `ip`:`port` (0 for any free port) on a new plane. `::` also accepts IPv4 clients. TLS
   * needs `certificates`; the listener follows their reloads (new connections get the new pair).
   */
  static open(
    dataPlane: NativeDataPlane,
    ip: string,
    port: number,
    handler: StreamClientHandler,
    limits: StreamLimits,
    onError: TransportErrorReporter,
    tls: { transport: 'tcp' } | { transport: 'tls'; certificates: TlsCertificates } = { transport: 'tcp' },
  ): NativeStreamListener {
    const transport = tls.transport;
    const family = familyOf(ip, 'listen IP');
    const tuples = new Map<number, FiveTuple>();
    const ids = new Map<string, number>();
    let server: TransportAddress | null = null;
    const report = (message: string, cause: unknown): void =>
      onError(new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', message, { cause }));
    const onEvent = (
      event: number,
      connId: number,
      data: Buffer | null,
      from: string,
      fromPort: number,
    ): void => {
      if (server === null) return;
      if (event === STREAM_EVENT.closed) {
        const tuple = tuples.get(connId);
        if (tuple === undefined) return;
        tuples.delete(connId);
        ids.delete(tuple.key);
        try {
          handler.clientGone(tuple);
        } catch (error) {
          report('client-gone handler threw', error);
        }
        return;
      }
      if (data === null) return;
      let tuple = tuples.get(connId);
      if (tuple === undefined) {
        const client = clientAddressOf(from, from.includes(':') ? 'IPv6' : 'IPv4', fromPort);
        tuple = new FiveTuple(transport, client, server);
        tuples.set(connId, tuple);
        ids.set(tuple.key, connId);
      }
      try {
        handler.handleClientPacket(tuple, data);
      } catch (error) {
        report('client packet handler threw', error);
      }
    };
    let plane: NativeRelayPlane;
    try {
      plane = dataPlane.listenStream(
        ip,
        port,
        {
          maxConnections: limits.maxConnections,
          maxConnectionsPerIp: limits.maxConnectionsPerIp,
          idleTimeoutMs: limits.idleTimeoutMs,
          maxQueuedBytes: limits.maxQueuedBytes,
          maxQueuedBytesHard: limits.maxQueuedBytesHard,
        },
        onEvent,
        tls.transport === 'tls'
          ? { ...pemOf(tls.certificates), handshakeTimeoutMs: limits.handshakeTimeoutMs }
          : undefined,
      );
    } catch (error) {
      throw new TransportError(
        'ICEGATE_TRANSPORT_LISTEN_FAILED',
        `cannot listen (${transport}) on ${ip}:${port} (native): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    server = { family, address: ip, port: plane.listenPort ?? port };
    const unsubscribe =
      tls.transport === 'tls'
        ? tls.certificates.subscribe(() => {
            try {
              const pem = pemOf(tls.certificates);
              plane.setStreamTls(pem.certPem, pem.keyPem, limits.handshakeTimeoutMs);
            } catch (error) {
              onError(
                new TransportError(
                  'ICEGATE_TRANSPORT_TLS_CERT',
                  'native TLS listener kept its old certificate',
                  {
                    cause: error,
                  },
                ),
              );
            }
          })
        : null;
    return new NativeStreamListener(transport, plane, server, handler, tuples, ids, unsubscribe);
  }

  /** The listener's key, as in FiveTuple.serverKey. */
  get serverKey(): string {
    return `${this.transport}:${this.address.address}:${this.address.port}`;
  }

  /** Connections TypeScript knows (they sent a frame that was not relayed natively). */
  get knownConnections(): number {
    return this.#tuples.size;
  }

  /** Counters in the JS StreamListener's shape (same metrics). */
  get stats(): StreamListenerStats {
    if (this.#closed) {
      return {
        droppedToClient: 0,
        closedIdle: 0,
        closedSlow: 0,
        closedFraming: 0,
        connections: 0,
        refusedPerIp: 0,
        tlsFailures: 0,
      };
    }
    const c = this.plane.counters();
    return {
      droppedToClient: c.streamDroppedToClient ?? 0,
      closedIdle: c.streamClosedIdle ?? 0,
      closedSlow: c.streamClosedSlow ?? 0,
      closedFraming: c.streamClosedFraming ?? 0,
      connections: c.streamConnections ?? 0,
      refusedPerIp: c.streamRefusedPerIp ?? 0,
      tlsFailures: c.streamTlsFailures ?? 0,
    };
  }

  /** The plane's connection id of `tuple`, or undefined when it is closed (or never spoke). */
  connectionOf(tuple: FiveTuple): number | undefined {
    return this.#ids.get(tuple.key);
  }

  /** Frames from the core to the client of `tuple` (its connection's thread writes them). */
  sendTo(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    if (this.#closed) return;
    const connId = this.#ids.get(tuple.key);
    if (connId === undefined) return;
    try {
      this.plane.streamSend(connId, Buffer.isBuffer(data) ? data : Buffer.concat(data));
    } catch {
      // The plane closed meanwhile.
    }
  }

  /** Makes native relay `nativeId` send its peer data to the connection of `tuple`; throws when it is gone. */
  attachRelay(nativeId: number, tuple: FiveTuple): void {
    const connId = this.#ids.get(tuple.key);
    if (connId === undefined) throw new Error('the client connection is closed');
    this.plane.setStreamClient(nativeId, connId);
  }

  /** Closes one client connection (its allocation then ends through clientGone). */
  closeConnection(tuple: FiveTuple): boolean {
    const connId = this.#ids.get(tuple.key);
    if (connId === undefined || this.#closed) return false;
    this.plane.streamClose(connId);
    return true;
  }

  /** Stops accepting and closes every connection; the core hears clientGone for each it knew. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#unsubscribe?.();
    const known = [...this.#tuples.values()];
    this.#tuples.clear();
    this.#ids.clear();
    for (const tuple of known) {
      try {
        this.#handler.clientGone(tuple);
      } catch {
        // Closing anyway.
      }
    }
    this.plane.close();
    return Promise.resolve();
  }
}

/** The PEM text of the certificate chain and key in use (what tls.createServer would get). */
function pemOf(certificates: TlsCertificates): { certPem: string; keyPem: string } {
  const options = certificates.secureOptions;
  return { certPem: pemText(options.cert), keyPem: pemText(options.key) };
}

function pemText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map((part) => pemText(part)).join('\n');
  if (typeof value === 'object' && value !== null && 'pem' in value)
    return pemText((value as { pem: unknown }).pem);
  throw new Error('certificate or key is not PEM text');
}
