// Relay sockets, one per allocation, bound in a port range (RFC 8656 section 7.2: the server picks
// the relayed transport address; ports should be hard to guess, section 21.1.2).
import dgram from 'node:dgram';
import type { TransportAddress } from '../stun/index.js';
import type { BoundRelay, RelayFailure, RelayRequest } from '../turn/index.js';
import { familyOf, socketTypeOf } from './address-family.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';
import { portCandidates } from './port-candidates.js';
import { bindUdpSocket, closeQuietly } from './udp-socket.js';

/** Where relays of one family bind, and what they advertise. */
export interface RelayAddressConfig {
  /** The IP relay sockets bind (`TURN_RELAY_IP`). */
  bindIp: string;
  /** The IP advertised in XOR-RELAYED-ADDRESS (`TURN_EXTERNAL_IP`); the bind IP by default. */
  externalIp?: string;
}

/** Options of a RelayPool. */
export interface RelayPoolOptions {
  /** At least one of IPv4 and IPv6. */
  relays: readonly RelayAddressConfig[];
  /** The port range, inclusive (`TURN_MIN_PORT`, `TURN_MAX_PORT`). */
  minPort: number;
  maxPort: number;
  /** Binds tried per Allocate before answering 508; 64 by default. */
  maxBindAttempts?: number;
  /** SO_RCVBUF and SO_SNDBUF of relay sockets, bytes; the kernel's default when unset (issue 16). */
  socketBuffer?: number;
  onError?: TransportErrorReporter;
}

/** What receives the relay sockets' output: the TURN core. */
export interface RelayOwner {
  handlePeerPacket(relayId: number, from: TransportAddress, data: Buffer): void;
  relayBound(ref: number, relay: BoundRelay): void;
  relayFailed(ref: number, reason: RelayFailure): void;
}

interface FamilyPool {
  type: 'udp4' | 'udp6';
  bindIp: string;
  externalIp: string;
  /** Ports this pool holds or is binding. */
  inUse: Set<number>;
}

interface RelaySocket {
  socket: dgram.Socket;
  pool: FamilyPool;
  port: number;
}

/**
 * Opens, indexes and closes relay sockets. A datagram from a peer reaches the owner through one
 * closure made per socket at bind time (not per packet); sends are plain `socket.send`.
 */
export class RelayPool {
  readonly #pools = new Map<TransportAddress['family'], FamilyPool>();
  readonly #sockets = new Map<number, RelaySocket>();
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #maxAttempts: number;
  readonly #socketBuffer: number;
  readonly #onError: TransportErrorReporter;
  #owner: RelayOwner | null = null;
  #nextId = 1;
  #closed = false;

  constructor(options: RelayPoolOptions) {
    const { minPort, maxPort } = options;
    if (
      !Number.isInteger(minPort) ||
      !Number.isInteger(maxPort) ||
      minPort < 1 ||
      maxPort > 65535 ||
      minPort > maxPort
    ) {
      throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', `bad relay port range ${minPort}-${maxPort}`);
    }
    this.#minPort = minPort;
    this.#maxPort = maxPort;
    this.#maxAttempts = options.maxBindAttempts ?? 64;
    this.#socketBuffer = options.socketBuffer ?? 0;
    this.#onError = options.onError ?? IGNORE_ERRORS;
    for (const relay of options.relays) {
      const family = familyOf(relay.bindIp, 'relay IP');
      const externalIp = relay.externalIp ?? relay.bindIp;
      if (familyOf(externalIp, 'external IP') !== family) {
        throw new TransportError(
          'ICEGATE_TRANSPORT_BAD_OPTION',
          `external IP ${externalIp} is not ${family}`,
        );
      }
      this.#pools.set(family, {
        type: socketTypeOf(family),
        bindIp: relay.bindIp,
        externalIp,
        inUse: new Set(),
      });
    }
    if (this.#pools.size === 0) throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', 'no relay address');
  }

  /** The families that have a relay address. */
  get families(): TransportAddress['family'][] {
    return [...this.#pools.keys()];
  }

  /** Local ports of open relay sockets of `family` (to attribute kernel drop counts to this plane). */
  ports(family: TransportAddress['family']): Set<number> {
    const ports = new Set<number>();
    for (const relay of this.#sockets.values()) {
      if ((relay.pool.type === 'udp4' ? 'IPv4' : 'IPv6') === family) ports.add(relay.port);
    }
    return ports;
  }

  /** Open relay sockets (reserved ones included). */
  get size(): number {
    return this.#sockets.size;
  }

  /** Ports of `family` held or being bound (reserved ones included), for the port-range metric. */
  portsInUse(family: TransportAddress['family']): number {
    return this.#pools.get(family)?.inUse.size ?? 0;
  }

  /** Connects the pool to the core that receives its packets and answers. */
  attach(owner: RelayOwner): void {
    this.#owner = owner;
  }

  /**
   * Opens a relay for `request` and answers the owner's relayBound or relayFailed. The answer
   * comes before this returns: binding an IP literal is synchronous (bindUdpSocket), and the
   * core registers a request before asking (ActionSink.bindRelay), as with the native plane.
   */
  bind(request: RelayRequest): void {
    let outcome: BoundRelay | RelayFailure;
    try {
      outcome = this.#bind(request);
    } catch (error) {
      this.#report('relay bind failed', error);
      outcome = 'error';
    }
    this.#answer(request.ref, outcome);
  }

  /**
   * Sends `data[offset, offset+length)` from relay `relayId` to `peer`. A peer on port 0 (a
   * client may name it: permissions are by IP alone, RFC 8656 §9) cannot be sent to, and dgram
   * throws for it, so the datagram is dropped like any other undeliverable one.
   */
  send(relayId: number, peer: TransportAddress, data: Buffer, offset: number, length: number): void {
    const relay = this.#sockets.get(relayId);
    if (relay !== undefined && peer.port !== 0)
      relay.socket.send(data, offset, length, peer.port, peer.address);
  }

  /** Closes relay `relayId` and frees its port. */
  close(relayId: number): void {
    const relay = this.#sockets.get(relayId);
    if (relay === undefined) return;
    this.#sockets.delete(relayId);
    relay.pool.inUse.delete(relay.port);
    closeQuietly(relay.socket);
  }

  /** Closes every relay; later binds fail. */
  closeAll(): void {
    this.#closed = true;
    for (const relayId of [...this.#sockets.keys()]) this.close(relayId);
  }

  /** Binds a relay for `request`: the relay, or why there is none. */
  #bind(request: RelayRequest): BoundRelay | RelayFailure {
    const pool = this.#pools.get(request.family);
    if (pool === undefined || this.#closed || this.#owner === null) return 'error';
    let attempts = 0;
    for (const port of portCandidates(this.#minPort, this.#maxPort, request.evenPort, request.reserveNext)) {
      if (attempts >= this.#maxAttempts || this.#closed) break;
      if (pool.inUse.has(port) || (request.reserveNext && pool.inUse.has(port + 1))) continue;
      attempts++;
      const bound = this.#openPair(pool, port, request.reserveNext);
      if (bound === 'in-use') continue;
      if (bound instanceof Error) {
        this.#report('relay bind failed', bound);
        return 'error';
      }
      const [main, next] = bound;
      const relay: BoundRelay = {
        relayId: this.#register(pool, port, main),
        address: this.#advertised(pool, port),
      };
      if (next !== undefined) {
        relay.reserved = {
          relayId: this.#register(pool, port + 1, next),
          address: this.#advertised(pool, port + 1),
        };
      }
      return relay;
    }
    return 'exhausted';
  }

  /** Tells the owner; a throwing owner is reported, never left as an unhandled rejection. */
  #answer(ref: number, outcome: BoundRelay | RelayFailure): void {
    const owner = this.#owner;
    try {
      if (owner === null) throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', 'relay pool not attached');
      if (typeof outcome === 'string') owner.relayFailed(ref, outcome);
      else owner.relayBound(ref, outcome);
    } catch (error) {
      this.#onError(
        new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'relay answer handler threw', { cause: error }),
      );
    }
  }

  /** Binds `port` (and `port + 1` when `pair`); claims the ports meanwhile, frees them on failure. */
  #openPair(
    pool: FamilyPool,
    port: number,
    pair: boolean,
  ): [dgram.Socket] | [dgram.Socket, dgram.Socket] | 'in-use' | Error {
    pool.inUse.add(port);
    const main = bindUdpSocket(pool.type, pool.bindIp, port);
    if (!(main instanceof dgram.Socket)) {
      pool.inUse.delete(port);
      return main;
    }
    if (!pair) return [main];
    pool.inUse.add(port + 1);
    const next = bindUdpSocket(pool.type, pool.bindIp, port + 1);
    if (next instanceof dgram.Socket) return [main, next];
    pool.inUse.delete(port);
    pool.inUse.delete(port + 1);
    closeQuietly(main);
    return next;
  }

  #register(pool: FamilyPool, port: number, socket: dgram.Socket): number {
    const relayId = this.#nextId++;
    if (this.#socketBuffer > 0) sizeBuffers(socket, this.#socketBuffer);
    const owner = this.#owner!;
    const report = this.#onError;
    socket.on('message', (data: Buffer, from: dgram.RemoteInfo) => {
      try {
        owner.handlePeerPacket(relayId, from, data);
      } catch (error) {
        report(
          new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'peer packet handler threw', {
            cause: error,
          }),
        );
      }
    });
    // After bind, errors are failed sends (no route, buffer full): the relay stays open.
    socket.on('error', (error) => {
      report(
        new TransportError('ICEGATE_TRANSPORT_SOCKET_ERROR', `relay socket: ${error.message}`, {
          cause: error,
        }),
      );
    });
    this.#sockets.set(relayId, { socket, pool, port });
    return relayId;
  }

  #advertised(pool: FamilyPool, port: number): TransportAddress {
    return { family: pool.type === 'udp4' ? 'IPv4' : 'IPv6', address: pool.externalIp, port };
  }

  #report(message: string, cause: unknown): void {
    this.#onError(new TransportError('ICEGATE_TRANSPORT_SOCKET_ERROR', message, { cause }));
  }
}

/**
 * Sizes a relay socket's buffers (issue 16): with the kernel's default 212,992 bytes a peer's burst
 * of 1,000 datagrams of 1,000 B loses up to 30%. The kernel caps the size at net.core.rmem_max /
 * wmem_max (logged at start); a refusal leaves the default rather than failing the Allocate.
 */
function sizeBuffers(socket: dgram.Socket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch {
    // Kept at the kernel's default.
  }
}
