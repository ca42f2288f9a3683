// A TCP or TLS listening socket (`turn:host:3478?transport=tcp`, `turns:host:5349?transport=tcp`,
// RFC 7065): connection limits at accept, then one StreamConnection per client.
import net from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from '../node-builtins.js';
import type { TransportAddress } from '../stun/index.js';
import { FiveTuple } from '../turn/index.js';
import { familyOf } from './address-family.js';
import { clientAddressOf } from './client-address.js';
import { TransportError, type TransportErrorReporter } from './errors.js';
import { type StreamClientHandler, StreamConnection, type StreamCounters } from './stream-connection.js';
import type { StreamLimits } from './stream-limits.js';
import { TLS_MIN_VERSION, type TlsCertificates } from './tls-certificates.js';
import type { TransportSink } from './transport-sink.js';

/** What a stream listener is built from. */
export interface StreamListenerOptions {
  transport: 'tcp' | 'tls';
  ip: string;
  /** 0 for any free port. */
  port: number;
  handler: StreamClientHandler;
  sink: TransportSink;
  limits: StreamLimits;
  /** Required for 'tls'; the listener follows its reloads. */
  certificates?: TlsCertificates;
  onError: TransportErrorReporter;
}

/** Counters of a stream listener, for metrics. */
export interface StreamListenerStats extends StreamCounters {
  /** Connections open now (TLS: handshaken ones). */
  connections: number;
  /** Connections refused for the per-IP limit. */
  refusedPerIp: number;
  /** TLS handshakes that failed (garbage, old protocol versions, timeouts). */
  tlsFailures: number;
}

/** What TurnHost.listenTcp returns: a JS StreamListener or a NativeStreamListener. */
export interface StreamListening {
  readonly transport: 'tcp' | 'tls';
  readonly address: TransportAddress;
  readonly stats: StreamListenerStats;
  close(): Promise<void>;
}

/** A TCP or TLS listener feeding the TURN core. */
export class StreamListener implements StreamListening {
  readonly #server: net.Server;
  readonly #options: StreamListenerOptions;
  readonly #perIp = new Map<string, number>();
  /** Every accepted socket (raw TCP, also under TLS), so close() can end handshakes in progress. */
  readonly #sockets = new Set<net.Socket>();
  readonly #connections = new Set<StreamConnection>();
  readonly #counters: StreamCounters = { droppedToClient: 0, closedIdle: 0, closedSlow: 0, closedFraming: 0 };
  #refusedPerIp = 0;
  #tlsFailures = 0;
  #unsubscribe: (() => void) | null = null;
  /** The bound address; set once listening. */
  address: TransportAddress = { family: 'IPv4', address: '0.0.0.0', port: 0 };

  private constructor(options: StreamListenerOptions) {
    this.#options = options;
    const { limits, certificates } = options;
    if (options.transport === 'tls') {
      if (certificates === undefined) {
        throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', 'a TLS listener needs certificates');
      }
      const server = nodeTls().createServer({
        ...certificates.secureOptions,
        minVersion: TLS_MIN_VERSION,
        handshakeTimeout: limits.handshakeTimeoutMs,
      });
      server.on('secureConnection', (socket: tls.TLSSocket) => this.#serve(socket));
      // With a listener here Node leaves the socket open (a handshake timeout included): end it.
      server.on('tlsClientError', (_error, socket: tls.TLSSocket) => {
        this.#tlsFailures++;
        socket.destroy();
      });
      this.#unsubscribe = certificates.subscribe((secureOptions) => {
        server.setSecureContext({ ...secureOptions, minVersion: TLS_MIN_VERSION });
      });
      this.#server = server;
    } else {
      this.#server = net.createServer();
    }
    this.#server.maxConnections = limits.maxConnections;
    // Under TLS this runs after tls.Server's own 'connection' listener has wrapped the socket;
    // the TLS side is served on 'secureConnection'.
    this.#server.on('connection', (socket: net.Socket) => {
      if (this.#admit(socket) && options.transport === 'tcp') this.#serve(socket);
    });
    this.#server.on('error', (error) => {
      options.onError(
        new TransportError(
          'ICEGATE_TRANSPORT_SOCKET_ERROR',
          `${options.transport} listener: ${error.message}`,
          {
            cause: error,
          },
        ),
      );
    });
  }

  /** Binds `ip`:`port` and starts accepting. `::` also accepts IPv4 clients (dual stack). */
  static async open(options: StreamListenerOptions): Promise<StreamListener> {
    familyOf(options.ip, 'listen IP');
    const listener = new StreamListener(options);
    const server = listener.#server;
    await new Promise<void>((resolve, reject) => {
      const onListenError = (error: Error): void => {
        listener.#unsubscribe?.();
        reject(
          new TransportError(
            'ICEGATE_TRANSPORT_LISTEN_FAILED',
            `cannot listen (${options.transport}) on ${options.ip}:${options.port}: ${error.message}`,
            { cause: error },
          ),
        );
      };
      server.once('error', onListenError);
      server.listen({ host: options.ip, port: options.port, ipv6Only: false }, () => {
        server.off('error', onListenError);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    listener.address = {
      family: familyOf(bound.address, 'listen IP'),
      address: bound.address,
      port: bound.port,
    };
    return listener;
  }

  get transport(): 'tcp' | 'tls' {
    return this.#options.transport;
  }

  /** Current counters. */
  get stats(): StreamListenerStats {
    return {
      ...this.#counters,
      connections: this.#connections.size,
      refusedPerIp: this.#refusedPerIp,
      tlsFailures: this.#tlsFailures,
    };
  }

  /** Stops accepting and closes every connection (their allocations end). */
  close(): Promise<void> {
    this.#unsubscribe?.();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  /** Counts the connection against its IP; refuses it (false) beyond the per-IP limit. */
  #admit(socket: net.Socket): boolean {
    const ip = socket.remoteAddress;
    if (ip === undefined) {
      socket.destroy();
      return false;
    }
    const count = this.#perIp.get(ip) ?? 0;
    if (count >= this.#options.limits.maxConnectionsPerIp) {
      this.#refusedPerIp++;
      socket.destroy();
      return false;
    }
    this.#perIp.set(ip, count + 1);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
    });
    return true;
  }

  /** A client is connected (TCP) or has finished its handshake (TLS). */
  #serve(socket: net.Socket): void {
    const { remoteAddress, remoteFamily, remotePort } = socket;
    if (socket.destroyed || remoteAddress === undefined || remotePort === undefined) {
      socket.destroy();
      return;
    }
    const client = clientAddressOf(remoteAddress, remoteFamily ?? 'IPv4', remotePort);
    const tuple = new FiveTuple(this.#options.transport, client, this.address);
    const connection = new StreamConnection(
      socket,
      tuple,
      {
        handler: this.#options.handler,
        sink: this.#options.sink,
        limits: this.#options.limits,
        counters: this.#counters,
        onError: this.#options.onError,
      },
      (closed) => this.#connections.delete(closed),
    );
    this.#connections.add(connection);
  }
}
