// The client-facing UDP socket: datagrams to the TURN core, responses and relayed data back.
import dgram from 'node:dgram';
import type { TransportAddress } from '../stun/index.js';
import type { FiveTuple } from '../turn/index.js';
import { familyOf, socketTypeOf } from './address-family.js';
import { ClientTuples, MAX_CACHED_TUPLES } from './client-tuples.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';
import { literalLookup } from './literal-lookup.js';
import { closeQuietly } from './udp-socket.js';

/** What receives client datagrams: the TURN core. */
export interface ClientPacketHandler {
  handleClientPacket(tuple: FiveTuple, data: Buffer): void;
}

/** Sends bytes to one client of a listener (UDP) or over one connection (TCP/TLS, issue 5). */
export interface ClientLink {
  send(client: TransportAddress, data: Buffer | readonly Buffer[]): void;
}

/** Kernel buffer sizes asked for; Linux caps them at net.core.[rw]mem_max. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** A UDP listening socket (`TURN_LISTEN_IP`:`TURN_PORT`). */
export class UdpListener implements ClientLink {
  readonly #socket: dgram.Socket;
  readonly #tuples: ClientTuples;
  /** Dual-stack `::` socket: IPv4 clients must be addressed as ::ffff:a.b.c.d. */
  readonly #dualStack: boolean;
  /** On a dual-stack socket, the ::ffff: text of each IPv4 client, made once, not per datagram. */
  readonly #mapped = new Map<string, string>();
  /** The bound address (the port is known once bound, also when 0 was asked). */
  readonly address: TransportAddress;

  private constructor(socket: dgram.Socket, handler: ClientPacketHandler, onError: TransportErrorReporter) {
    this.#socket = socket;
    const bound = socket.address();
    this.address = { family: familyOf(bound.address, 'listen IP'), address: bound.address, port: bound.port };
    this.#dualStack = this.address.family === 'IPv6';
    const tuples = new ClientTuples(this.address);
    this.#tuples = tuples;
    socket.on('message', (data: Buffer, from: dgram.RemoteInfo) => {
      try {
        handler.handleClientPacket(tuples.tupleFor(from), data);
      } catch (error) {
        onError(
          new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'client packet handler threw', {
            cause: error,
          }),
        );
      }
    });
    socket.on('error', (error) => {
      onError(
        new TransportError('ICEGATE_TRANSPORT_SOCKET_ERROR', `listener socket: ${error.message}`, {
          cause: error,
        }),
      );
    });
  }

  /** Binds `ip`:`port` (0 for any free port) and starts feeding `handler`. */
  static open(
    ip: string,
    port: number,
    handler: ClientPacketHandler,
    onError: TransportErrorReporter = IGNORE_ERRORS,
  ): Promise<UdpListener> {
    const type = socketTypeOf(familyOf(ip, 'listen IP'));
    // `::` serves IPv4 clients too (dual stack), as TURN_LISTEN_IP documents.
    const socket = dgram.createSocket({ type, ipv6Only: false, lookup: literalLookup });
    return new Promise((resolve, reject) => {
      const onBindError = (error: Error): void => {
        closeQuietly(socket);
        reject(
          new TransportError(
            'ICEGATE_TRANSPORT_LISTEN_FAILED',
            `cannot listen on ${ip}:${port}: ${error.message}`,
            { cause: error },
          ),
        );
      };
      socket.once('error', onBindError);
      socket.bind({ port, address: ip, exclusive: true }, () => {
        socket.off('error', onBindError);
        trySetBuffers(socket);
        resolve(new UdpListener(socket, handler, onError));
      });
    });
  }

  /** The listener's key, as in FiveTuple.serverKey. */
  get serverKey(): string {
    return `udp:${this.address.address}:${this.address.port}`;
  }

  /** Clients currently remembered (bounded). */
  get knownClients(): number {
    return this.#tuples.size;
  }

  /**
   * Forgets what this listener remembers about `client` (its tuple, and on a dual-stack socket its
   * ::ffff: text once no other port of that address is known): called when its allocation ends.
   */
  forget(client: TransportAddress): void {
    if (this.#tuples.forget(client) && this.#dualStack && client.family === 'IPv4') {
      this.#mapped.delete(client.address);
    }
  }

  send(client: TransportAddress, data: Buffer | readonly Buffer[]): void {
    const address =
      this.#dualStack && client.family === 'IPv4' ? this.#mappedAddress(client.address) : client.address;
    this.#socket.send(data, client.port, address);
  }

  #mappedAddress(ipv4: string): string {
    let mapped = this.#mapped.get(ipv4);
    if (mapped === undefined) {
      // Bounded like the tuple cache: a flood of sources cannot grow it.
      if (this.#mapped.size >= MAX_CACHED_TUPLES) this.#mapped.clear();
      mapped = `::ffff:${ipv4}`;
      this.#mapped.set(ipv4, mapped);
    }
    return mapped;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function trySetBuffers(socket: dgram.Socket): void {
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // Not fatal: the kernel default applies.
  }
}
