// The core's ActionSink for TURN_DATA_PLANE=native (issue 9). UDP clients of a native listener get
// relays opened by the native plane of that listener, and the core's table changes are pushed to
// it (whole-table replacement per relay); the plane then relays ChannelData, Data indications and
// peer datagrams without JavaScript (both relays of a dual allocation too). TCP clients of a native
// stream listener (NativeStreamListener) get relays on that listener's plane the same way; TLS
// clients and TCP clients of a JS StreamListener stay on the JS path of TransportSink and RelayPool. The traffic the plane relayed is read for all relays
// of a plane in one addon call per collection (the core's tick), not one per relay.
import dgram from 'node:dgram';
import type { TransportAddress } from '../../stun/index.js';
import type {
  ActionSink,
  BoundRelay,
  FiveTuple,
  RelayFailure,
  RelayRequest,
  RelayTable,
  TrafficCounters,
} from '../../turn/index.js';
import { familyOf } from '../address-family.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from '../errors.js';
import { literalLookup } from '../literal-lookup.js';
import { portCandidates } from '../port-candidates.js';
import type { RelayAddressConfig } from '../relay-pool.js';
import type { TransportSink } from '../transport-sink.js';
import { closeQuietly } from '../udp-socket.js';
import {
  CHANGED_TRAFFIC_STRIDE,
  NATIVE_ERROR,
  type NativeChannelBinding,
  type NativeRelayTraffic,
  nativeErrorCode,
} from './native-addon.js';
import type { NativeRelayPlane } from './native-relay-plane.js';
import { NativeUdpListener } from './native-udp-listener.js';

/** A listener whose plane owns its clients' relays: NativeClientListener or NativeStreamListener. */
export interface NativeClientListener {
  readonly plane: NativeRelayPlane;
  /** As FiveTuple.serverKey: which tuples are this listener's clients. */
  readonly serverKey: string;
  /** Frames or datagrams from the core to the client of `tuple`. */
  sendTo(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void;
  /** Makes the plane's relay `nativeId` relay to and from the client of `tuple`. */
  attachRelay(nativeId: number, tuple: FiveTuple): void;
}

/**
 * Relay ids of native relays start here, so they never meet RelayPool's (which count from 1): the
 * core sees one id space, the sink tells the two apart by the id alone.
 */
export const NATIVE_RELAY_ID_BASE = 2 ** 31;

/** What answers bindRelay and learns that a relay cannot serve: the TURN core. */
export interface NativeRelayOwner {
  handlePeerPacket(relayId: number, from: TransportAddress, data: Buffer): void;
  relayBound(ref: number, relay: BoundRelay): void;
  relayFailed(ref: number, reason: RelayFailure): void;
  relayError(relayId: number): void;
}

/** Options of a NativeSink: the same relay addresses and port range as the RelayPool. */
export interface NativeSinkOptions {
  relays: readonly RelayAddressConfig[];
  minPort: number;
  maxPort: number;
  /** Binds tried per Allocate before answering 508; 64 by default, as RelayPool. */
  maxBindAttempts?: number;
  /** SO_RCVBUF and SO_SNDBUF of native relay sockets, bytes; the kernel's default when unset (issue 16). */
  socketBuffer?: number;
  onError?: TransportErrorReporter;
}

interface FamilyPool {
  bindIp: string;
  externalIp: string;
  /** Ports held by native relays of this family. */
  inUse: Set<number>;
}

/** One native relay socket and what the sink last pushed to it. */
interface NativeRelayRecord {
  listener: NativeClientListener;
  nativeId: number;
  pool: FamilyPool;
  port: number;
  /** The client 5-tuple key set with setClient, or null. */
  client: string | null;
  /** Signatures of the last pushed tables, to skip pushes that change nothing. */
  permissions: string;
  channels: string;
  /** The data threads' cumulative counters as last read with changedRelayTraffic. */
  latest: NativeRelayTraffic;
  /** The plane's cumulative counters when last collected into the core's counters. */
  collected: NativeRelayTraffic;
  /**
   * Set once the relay moved to the JS path (a table the plane refused; not expected, since the
   * plane takes every table the core makes, but kept as a safety net): a dgram socket on the same
   * port; the core relays, and counts, from then on.
   */
  socket: dgram.Socket | null;
  /** Native traffic read at that move, not yet collected. */
  pending: TrafficCountersLike | null;
}

/** The counters collectTraffic adds to (TrafficCounters' fields). */
class TrafficCountersLike
  implements Pick<TrafficCounters, 'toClientPackets' | 'toClientBytes' | 'toPeerPackets' | 'toPeerBytes'>
{
  toClientPackets = 0;
  toClientBytes = 0;
  toPeerPackets = 0;
  toPeerBytes = 0;
}

const ZERO_TRAFFIC: NativeRelayTraffic = {
  packetsToClient: 0,
  bytesToClient: 0,
  packetsToPeer: 0,
  bytesToPeer: 0,
};

/** Whether a native bind failure means "that port is not ours to use" (try another one). */
function portTaken(error: unknown): boolean {
  const code = nativeErrorCode(error);
  return code === NATIVE_ERROR.addressInUse || code === NATIVE_ERROR.accessDenied;
}

/** ActionSink over native planes for UDP clients, TransportSink for the rest. */
export class NativeSink implements ActionSink {
  readonly #js: TransportSink;
  readonly #listeners = new Map<string, NativeClientListener>();
  readonly #relays = new Map<number, NativeRelayRecord>();
  /** Native relays by listener and plane relay id (what changedRelayTraffic names). */
  readonly #byNativeId = new Map<NativeClientListener, Map<number, NativeRelayRecord>>();
  /** True while `latest` holds this synchronous run's reading (reset in a microtask). */
  #trafficRead = false;
  readonly #pools = new Map<TransportAddress['family'], FamilyPool>();
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #maxAttempts: number;
  readonly #socketBuffer: number;
  readonly #onError: TransportErrorReporter;
  #owner: NativeRelayOwner | null = null;
  #nextId = NATIVE_RELAY_ID_BASE;
  /** Native relays moved to the JS path because the plane refused their table (see #demote). */
  movedToJs = 0;
  /** changedRelayTraffic calls made (one per plane per collection; tests). */
  trafficReads = 0;
  #closed = false;

  constructor(js: TransportSink, options: NativeSinkOptions) {
    this.#js = js;
    this.#minPort = options.minPort;
    this.#maxPort = options.maxPort;
    this.#maxAttempts = options.maxBindAttempts ?? 64;
    this.#socketBuffer = options.socketBuffer ?? 0;
    this.#onError = options.onError ?? IGNORE_ERRORS;
    for (const relay of options.relays) {
      this.#pools.set(familyOf(relay.bindIp, 'relay IP'), {
        bindIp: relay.bindIp,
        externalIp: relay.externalIp ?? relay.bindIp,
        inUse: new Set(),
      });
    }
  }

  /** Local ports of native relay sockets of `family` (to attribute kernel drop counts to this plane). */
  ports(family: TransportAddress['family']): Set<number> {
    return new Set(this.#pools.get(family)?.inUse ?? []);
  }

  /** Connects the sink to the core that receives bind answers. */
  attach(owner: NativeRelayOwner): void {
    this.#owner = owner;
  }

  /** Serves the UDP clients of `listener` natively. */
  addListener(listener: NativeClientListener): void {
    this.#listeners.set(listener.serverKey, listener);
    if (!this.#byNativeId.has(listener)) this.#byNativeId.set(listener, new Map());
  }

  /** The native UDP listeners, in the order they were added. */
  listeners(): NativeUdpListener[] {
    return [...this.#listeners.values()].filter(
      (l): l is NativeUdpListener => l instanceof NativeUdpListener,
    );
  }

  /** Native relays open now. */
  get nativeRelayCount(): number {
    return this.#relays.size;
  }

  /** Ports of `family` held by native relays, for the port-range metric. */
  portsInUse(family: TransportAddress['family']): number {
    return this.#pools.get(family)?.inUse.size ?? 0;
  }

  /** Whether relay `relayId` is a native one (tests, metrics). */
  isNative(relayId: number): boolean {
    return this.#relays.has(relayId);
  }

  sendToClient(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    const listener = this.#listeners.get(tuple.serverKey);
    if (listener === undefined) this.#js.sendToClient(tuple, data);
    else listener.sendTo(tuple, data);
  }

  sendToPeer(relayId: number, peer: TransportAddress, data: Buffer, offset: number, length: number): void {
    const relay = this.#relays.get(relayId);
    if (relay === undefined) {
      this.#js.sendToPeer(relayId, peer, data, offset, length);
      return;
    }
    if (relay.socket !== null) {
      relay.socket.send(data, offset, length, peer.port, peer.address);
      return;
    }
    try {
      // The core counted it; the plane's batched traffic leaves sendFromRelay out (no double count).
      relay.listener.plane.sendFromRelay(relay.nativeId, peer, data.subarray(offset, offset + length));
    } catch {
      // A refused datagram (full buffer, no route) is lost, as with dgram.
    }
  }

  bindRelay(request: RelayRequest): void {
    const tuple = request.tuple;
    // A dual allocation (RFC 8656 §7.2) asks once per family; the plane indexes one relay per
    // family for a client, so both of its relays are native too.
    const listener = tuple === undefined ? undefined : this.#listeners.get(tuple.serverKey);
    if (listener === undefined) {
      this.#js.bindRelay(request);
      return;
    }
    const owner = this.#owner;
    if (owner === null) throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', 'native sink not attached');
    let outcome: BoundRelay | RelayFailure;
    try {
      outcome = this.#bind(listener, request);
    } catch (error) {
      this.#report('native relay bind failed', error);
      outcome = 'error';
    }
    if (typeof outcome === 'string') owner.relayFailed(request.ref, outcome);
    else owner.relayBound(request.ref, outcome);
  }

  closeRelay(relayId: number): void {
    const relay = this.#relays.get(relayId);
    if (relay === undefined) {
      this.#js.closeRelay(relayId);
      return;
    }
    this.#relays.delete(relayId);
    this.#byNativeId.get(relay.listener)?.delete(relay.nativeId);
    relay.pool.inUse.delete(relay.port);
    if (relay.socket !== null) {
      closeQuietly(relay.socket);
      return;
    }
    try {
      relay.listener.plane.closeRelay(relay.nativeId);
    } catch {
      // The plane is already closed, and its sockets with it.
    }
  }

  relayTableChanged(table: RelayTable): void {
    const relay = this.#relays.get(table.relayId);
    if (relay === undefined || relay.socket !== null) return;
    try {
      if (relay.client !== table.tuple.key) {
        if (table.tuple.serverKey !== relay.listener.serverKey) {
          // A reserved port (EVEN-PORT R) claimed from another listener (or another transport):
          // this plane cannot reach that client. The allocation ends rather than relay nothing.
          this.#report('native relay claimed by a client of another listener', null);
          const owner = this.#owner;
          queueMicrotask(() => owner?.relayError(table.relayId));
          return;
        }
        relay.listener.attachRelay(relay.nativeId, table.tuple);
        relay.client = table.tuple.key;
      }
      // An empty table against an empty one (every allocation's first push) is not compared by key.
      if (table.permissions.length > 0 || relay.permissions !== '') this.#pushPermissions(relay, table);
      if (table.channels.length === 0 && relay.channels === '') return;
      const channels: NativeChannelBinding[] = table.channels.map((c) => ({
        ip: c.peer.address,
        port: c.peer.port,
        channel: c.number,
      }));
      const channelKey = channels.map((c) => `${c.channel}>${c.ip}:${c.port}`).join(',');
      if (channelKey !== relay.channels) {
        relay.channels = channelKey;
        // Pushed after the answer the core is about to send (ChannelBind succeeds right after this
        // call): the data thread must not send ChannelData on a new channel before the client has
        // its success response, or a client that reads channels from responses (libnice) drops it.
        // A peer datagram in between leaves as a Data indication: the permission is already in.
        queueMicrotask(() => this.#pushChannels(table.relayId, relay, channelKey, channels));
      }
    } catch (error) {
      // The plane refused the table. It takes everything the core makes (IP literals, channels
      // 0x4000-0x7FFF, one family per relay), so this is a safety net: the allocation goes on over
      // the JS path, on the same port, rather than relay nothing.
      this.#report('native relay table refused; the allocation moves to the JS path', error);
      this.#demote(table.relayId, relay);
    }
  }

  /** Pushes the relay's permitted peer IPs when they differ from the last push. */
  #pushPermissions(relay: NativeRelayRecord, table: RelayTable): void {
    const permissions = [...table.permissions].sort();
    const permissionKey = permissions.join(',');
    if (permissionKey === relay.permissions) return;
    relay.listener.plane.setPermissions(relay.nativeId, permissions);
    relay.permissions = permissionKey;
  }

  #pushChannels(
    relayId: number,
    relay: NativeRelayRecord,
    channelKey: string,
    channels: NativeChannelBinding[],
  ): void {
    // Superseded by a later push, closed or moved to the JS path meanwhile: nothing to do.
    if (this.#relays.get(relayId) !== relay || relay.socket !== null || relay.channels !== channelKey) return;
    try {
      relay.listener.plane.setChannels(relay.nativeId, channels);
    } catch (error) {
      this.#report('native relay table refused; the allocation moves to the JS path', error);
      this.#demote(relayId, relay);
    }
  }

  /**
   * Replaces native relay `relayId` by a dgram socket on the same port, fed to the core like a
   * RelayPool socket. The client's packets reach the core too (the plane forgets the client with
   * the relay). What the plane relayed so far is kept for collectTraffic.
   */
  #demote(relayId: number, relay: NativeRelayRecord): void {
    this.movedToJs++;
    const traffic = new TrafficCountersLike();
    // Exact up to this moment: a reading of now, not this run's earlier one.
    this.#readTraffic(true);
    this.#collectNative(relay, traffic);
    this.#byNativeId.get(relay.listener)?.delete(relay.nativeId);
    relay.pending = traffic;
    try {
      relay.listener.plane.closeRelay(relay.nativeId);
    } catch {
      // Closed with its plane.
    }
    this.#rebind(relayId, relay, 0);
  }

  /**
   * Binds the JS socket of a moved relay on its port. A data thread may close the native socket a
   * moment later than closeRelay returns, so EADDRINUSE is retried (bounded: 100 tries, 10 ms apart);
   * sends made meanwhile are queued by dgram until the bind completes.
   */
  #rebind(relayId: number, relay: NativeRelayRecord, attempt: number): void {
    const owner = this.#owner;
    const report = this.#onError;
    const v6 = relay.pool.bindIp.includes(':');
    const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, lookup: literalLookup });
    relay.socket = socket;
    socket.on('message', (data: Buffer, from: dgram.RemoteInfo) => {
      try {
        owner?.handlePeerPacket(relayId, from, data);
      } catch (error) {
        report(
          new TransportError('ICEGATE_TRANSPORT_HANDLER_ERROR', 'peer packet handler threw', {
            cause: error,
          }),
        );
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      closeQuietly(socket);
      if (this.#relays.get(relayId) !== relay) return;
      if (error.code === 'EADDRINUSE' && attempt < 100) {
        setTimeout(() => {
          if (this.#relays.get(relayId) === relay) this.#rebind(relayId, relay, attempt + 1);
        }, 10).unref();
        return;
      }
      this.#report('relay socket (moved from the native plane) failed', error);
      queueMicrotask(() => owner?.relayError(relayId));
    });
    socket.bind({ port: relay.port, address: relay.pool.bindIp, exclusive: true }, () => {
      socket.removeAllListeners('error');
      socket.on('error', (error) => this.#report('relay socket error', error));
    });
  }

  collectTraffic(relayId: number, into: TrafficCountersLike): void {
    const relay = this.#relays.get(relayId);
    if (relay === undefined) return;
    if (relay.pending !== null) {
      into.toClientPackets += relay.pending.toClientPackets;
      into.toClientBytes += relay.pending.toClientBytes;
      into.toPeerPackets += relay.pending.toPeerPackets;
      into.toPeerBytes += relay.pending.toPeerBytes;
      relay.pending = null;
    }
    if (relay.socket !== null) return;
    this.#readTraffic();
    this.#collectNative(relay, into);
  }

  /**
   * Reads the traffic of every native relay that changed, one addon call per plane, at most once
   * per synchronous run: the core's tick collects all allocations in one run, so 10,000 relays
   * cost one call a second; a deletion outside the tick (Refresh 0) reads afresh in its own run.
   */
  #readTraffic(fresh = false): void {
    if (this.#trafficRead && !fresh) return;
    if (!this.#trafficRead) {
      this.#trafficRead = true;
      queueMicrotask(() => {
        this.#trafficRead = false;
      });
    }
    for (const [listener, relays] of this.#byNativeId) {
      if (relays.size === 0) continue;
      let values: Float64Array;
      try {
        values = listener.plane.changedRelayTraffic();
      } catch {
        continue; // closed with its listener
      }
      this.trafficReads++;
      for (let i = 0; i + CHANGED_TRAFFIC_STRIDE <= values.length; i += CHANGED_TRAFFIC_STRIDE) {
        const relay = relays.get(values[i]!);
        if (relay === undefined) continue;
        relay.latest = {
          packetsToClient: values[i + 1]!,
          bytesToClient: values[i + 2]!,
          packetsToPeer: values[i + 3]!,
          bytesToPeer: values[i + 4]!,
        };
      }
    }
  }

  /** Adds what the relay's data threads relayed since the last collection (the core's own sends are not in it). */
  #collectNative(relay: NativeRelayRecord, into: TrafficCountersLike): void {
    const now = relay.latest;
    const last = relay.collected;
    if (now === last) return;
    into.toClientPackets += now.packetsToClient - last.packetsToClient;
    into.toClientBytes += now.bytesToClient - last.bytesToClient;
    into.toPeerPackets += now.packetsToPeer - last.packetsToPeer;
    into.toPeerBytes += now.bytesToPeer - last.bytesToPeer;
    relay.collected = now;
  }

  /** Forgets every native relay (their planes are closing); later binds of UDP clients fail. */
  close(): void {
    this.#closed = true;
    for (const relayId of [...this.#relays.keys()]) this.closeRelay(relayId);
  }

  /** Opens a relay (and its reserved twin) on `listener`'s plane, in the port range. */
  #bind(listener: NativeClientListener, request: RelayRequest): BoundRelay | RelayFailure {
    const pool = this.#pools.get(request.family);
    if (pool === undefined || this.#closed) return 'error';
    let attempts = 0;
    for (const port of portCandidates(this.#minPort, this.#maxPort, request.evenPort, request.reserveNext)) {
      if (attempts >= this.#maxAttempts) break;
      if (pool.inUse.has(port) || (request.reserveNext && pool.inUse.has(port + 1))) continue;
      attempts++;
      const main = this.#open(listener, pool, port);
      if (main === 'in-use') continue;
      if (!request.reserveNext)
        return { relayId: main, address: this.#advertised(request.family, pool, port) };
      let next: number | 'in-use';
      try {
        next = this.#open(listener, pool, port + 1);
      } catch (error) {
        this.closeRelay(main);
        throw error;
      }
      if (next === 'in-use') {
        this.closeRelay(main);
        continue;
      }
      return {
        relayId: main,
        address: this.#advertised(request.family, pool, port),
        reserved: { relayId: next, address: this.#advertised(request.family, pool, port + 1) },
      };
    }
    return 'exhausted';
  }

  /** Binds one native relay socket on `port`; 'in-use' when the port is taken. Other failures throw. */
  #open(listener: NativeClientListener, pool: FamilyPool, port: number): number | 'in-use' {
    let opened: { id: number; port: number };
    try {
      opened = listener.plane.openRelay(pool.bindIp, port, this.#socketBuffer);
    } catch (error) {
      if (portTaken(error)) return 'in-use';
      throw error;
    }
    const relayId = this.#nextId++;
    pool.inUse.add(port);
    const record: NativeRelayRecord = {
      listener,
      nativeId: opened.id,
      pool,
      port,
      client: null,
      permissions: '',
      channels: '',
      latest: ZERO_TRAFFIC,
      collected: ZERO_TRAFFIC,
      socket: null,
      pending: null,
    };
    this.#relays.set(relayId, record);
    this.#byNativeId.get(listener)?.set(opened.id, record);
    return relayId;
  }

  #advertised(family: TransportAddress['family'], pool: FamilyPool, port: number): TransportAddress {
    return { family, address: pool.externalIp, port };
  }

  #report(message: string, cause: unknown): void {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    this.#onError(new TransportError('ICEGATE_TRANSPORT_SOCKET_ERROR', `${message}${detail}`, { cause }));
  }
}
