// One native relay plane: relay sockets owned by the addon, peer -> client forwarding in C++
// (RFC 8656 §11.6 Data indication, §12.4 ChannelData); tables pushed from the TypeScript core.
import type { TransportAddress } from '../../stun/index.js';
import {
  type ControlPacketHandler,
  hasStreamSupport,
  type NativeAddon,
  type NativeChannelBinding,
  type NativePlaneCounters,
  type NativePlaneInfo,
  type NativePlaneOptions,
  type NativeRelayTraffic,
  type NativeStreamAddon,
  type NativeStreamLimits,
  type PlaneHandle,
  type StreamEventHandler,
} from './native-addon.js';

/** ICEGATE_NATIVE_THREADS, when it is an integer from 1 to 64; else undefined (the addon's default). */
function threadsFromEnv(): number | undefined {
  const raw = process.env.ICEGATE_NATIVE_THREADS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`ICEGATE_NATIVE_THREADS must be an integer from 1 to 64, got "${raw}"`);
  }
  return n;
}

/** The TLS side of a native stream listener: PEM certificate chain and key, handshake timeout. */
export interface NativeStreamTls {
  certPem: string;
  keyPem: string;
  handshakeTimeoutMs: number;
}

/** A relay socket bound by the addon: its id for table pushes and its bound port. */
export interface NativeRelay {
  readonly id: number;
  readonly port: number;
}

/** Relay sockets and their forwarding tables; sends to clients from the listening socket's fd. */
export class NativeRelayPlane {
  readonly #addon: NativeAddon;
  #handle: PlaneHandle | null;
  /** Held here because the addon keeps only a weak reference to it. */
  #onControlPacket: ControlPacketHandler | null = null;
  /** Held here because the addon keeps only a weak reference to it. */
  #onStreamEvent: StreamEventHandler | null = null;
  /** The plane's own listening port, when it was made by `listen` or `listenStream`. */
  listenPort: number | null = null;

  /**
   * `listenFd`: a JS listening socket's fd to send from, or -1 before `listen`. `options.threads`
   * defaults to ICEGATE_NATIVE_THREADS when set, else to the addon's min(CPU count, 4).
   */
  constructor(addon: NativeAddon, listenFd: number, options: NativePlaneOptions = {}) {
    this.#addon = addon;
    this.#handle = addon.createPlane(listenFd, { ...options, threads: options.threads ?? threadsFromEnv() });
  }

  /**
   * A plane that owns its listening socket: ChannelData from known clients on bound channels is
   * relayed natively (both directions); everything else reaches `onControlPacket`.
   */
  static listen(
    addon: NativeAddon,
    ip: string,
    port: number,
    onControlPacket: ControlPacketHandler,
    options: NativePlaneOptions = {},
  ): NativeRelayPlane {
    const plane = new NativeRelayPlane(addon, -1, options);
    try {
      plane.listenPort = addon.openListener(plane.#plane(), ip, port, onControlPacket).port;
    } catch (error) {
      plane.close();
      throw error;
    }
    plane.#onControlPacket = onControlPacket;
    return plane;
  }

  /**
   * A plane that owns a TCP listening socket (the addon must have stream support): each accepted
   * connection is framed on one data thread, its ChannelData and Send indications relayed there;
   * other frames and connection ends reach `onEvent`.
   */
  static listenStream(
    addon: NativeAddon,
    ip: string,
    port: number,
    limits: NativeStreamLimits,
    onEvent: StreamEventHandler,
    options: NativePlaneOptions & { tls?: NativeStreamTls } = {},
  ): NativeRelayPlane {
    if (!hasStreamSupport(addon)) throw new Error('NATIVE_NO_STREAMS: the addon has no stream support');
    const { tls, ...planeOptions } = options;
    const plane = new NativeRelayPlane(addon, -1, planeOptions);
    try {
      if (tls !== undefined) plane.setStreamTls(tls.certPem, tls.keyPem, tls.handshakeTimeoutMs);
      plane.listenPort = addon.openStreamListener(plane.#plane(), ip, port, limits, onEvent).port;
    } catch (error) {
      plane.close();
      throw error;
    }
    plane.#onStreamEvent = onEvent;
    return plane;
  }

  #streams(): NativeStreamAddon {
    const addon = this.#addon;
    if (!hasStreamSupport(addon)) throw new Error('NATIVE_NO_STREAMS: the addon has no stream support');
    return addon;
  }

  /** Queues whole frames to stream connection `connId` (sent by its data thread; dropped if it is gone). */
  streamSend(connId: number, data: Uint8Array): void {
    this.#streams().streamSend(this.#plane(), connId, data);
  }

  /**
   * Makes the stream listener TLS (listenStream does it before listening) or replaces its
   * certificate: connections accepted from now on use the new pair. Throws NATIVE_TLS on a bad pair.
   */
  setStreamTls(certPem: string, keyPem: string, handshakeTimeoutMs: number): void {
    this.#streams().setStreamTls(this.#plane(), certPem, keyPem, handshakeTimeoutMs);
  }

  /** Closes stream connection `connId`; its end comes back as a `closed` event. */
  streamClose(connId: number): void {
    this.#streams().streamClose(this.#plane(), connId);
  }

  /** Sets the stream connection that receives this relay's peer data (on that connection's thread). */
  setStreamClient(relayId: number, connId: number): void {
    this.#streams().setStreamClient(this.#plane(), relayId, connId);
  }

  /** True when this plane owns a TCP listening socket (listenStream). */
  get ownsStreamListener(): boolean {
    return this.#onStreamEvent !== null;
  }

  /** True when this plane owns its listening socket and hands control packets to JS. */
  get ownsListener(): boolean {
    return this.#onControlPacket !== null;
  }

  /** Sends from the plane's own listening socket (responses written by the TypeScript core). */
  sendToClient(client: TransportAddress, data: Uint8Array): void {
    this.#addon.sendToClient(this.#plane(), client.address, client.port, data);
  }

  #plane(): PlaneHandle {
    if (this.#handle === null) throw new Error('NATIVE_CLOSED: relay plane is closed');
    return this.#handle;
  }

  /** Binds a relay socket on `ip`:`port` (0 = any free port); `bufferBytes` > 0 sizes its buffers. */
  openRelay(ip: string, port: number, bufferBytes = 0): NativeRelay {
    // One number from the addon (an object built in C++ cost more than the bind's bookkeeping).
    const packed = this.#addon.openRelay(this.#plane(), ip, port, bufferBytes);
    return { id: Math.floor(packed / 65536), port: packed % 65536 };
  }

  /** Sets the client that receives this relay's peer data (the allocation's 5-tuple, UDP only). */
  setClient(relayId: number, client: TransportAddress): void {
    this.#addon.setClient(this.#plane(), relayId, client.address, client.port);
  }

  /** Sends `data` from relay `relayId` to `peer` (a Send indication the TypeScript core accepted). */
  sendFromRelay(relayId: number, peer: TransportAddress, data: Uint8Array): void {
    this.#addon.sendFromRelay(this.#plane(), relayId, peer.address, peer.port, data);
  }

  /** Replaces the permitted peer IPs (RFC 8656 §9: permissions are by IP, port ignored). */
  setPermissions(relayId: number, peerIps: readonly string[]): void {
    this.#addon.setPermissions(this.#plane(), relayId, peerIps);
  }

  /** Replaces the channel bindings: peer transport address -> channel number (RFC 8656 §12). */
  setChannels(relayId: number, bindings: readonly NativeChannelBinding[]): void {
    this.#addon.setChannels(this.#plane(), relayId, bindings);
  }

  /** Closes one relay socket; false when the id is unknown. */
  closeRelay(relayId: number): boolean {
    return this.#addon.closeRelay(this.#plane(), relayId);
  }

  /** Cumulative traffic of one relay (payload bytes, as the core's TrafficCounters count them). */
  relayTraffic(relayId: number): NativeRelayTraffic {
    return this.#addon.relayTraffic(this.#plane(), relayId);
  }

  /**
   * Cumulative traffic of every relay whose data threads relayed something since the previous call,
   * in one call: 5 numbers per relay (id, packetsToClient, bytesToClient, packetsToPeer,
   * bytesToPeer), counting only what the data threads relayed (not sendFromRelay, which the caller
   * counts). "Since the previous call" is the plane's state: one reader (the NativeSink).
   */
  changedRelayTraffic(): Float64Array {
    return this.#addon.changedRelayTraffic(this.#plane());
  }

  /** The plane's data threads, whether clients are steered to one thread each, GSO. */
  info(): NativePlaneInfo {
    return this.#addon.planeInfo(this.#plane());
  }

  /**
   * Steers clients to the first `active` data threads (1 to `info().threads`) and moves the relays
   * whose thread changes; returns how many moved. See ThreadScaler for when.
   */
  setActiveThreads(active: number): number {
    return this.#addon.setActiveThreads(this.#plane(), active).moved;
  }

  /** A snapshot of the plane's counters (all data threads summed). */
  counters(): NativePlaneCounters {
    return this.#addon.counters(this.#plane());
  }

  /** Closes every relay socket; later calls throw NATIVE_CLOSED. Idempotent. */
  close(): void {
    if (this.#handle === null) return;
    this.#addon.closePlane(this.#handle);
    this.#handle = null;
    this.#onControlPacket = null;
    this.#onStreamEvent = null;
  }
}
