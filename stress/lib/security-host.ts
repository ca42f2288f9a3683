// An icegate TURN host for the security suites: UDP, TCP and (with a certificate) TLS listeners on
// loopback, wired like production unless told otherwise (PeerFilter without allowLoopback, the
// server's own addresses denied), with counters of every answer and drop instead of unbounded
// records, and taps on what reaches the core and what leaves towards peers.
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import type { TransportAddress } from '../../src/stun/index.js';
import {
  type StreamLimits,
  type StreamListening,
  type TransportError,
  TurnHost,
  type UdpListener,
} from '../../src/transport/index.js';
import type { FiveTuple, TurnEvents, TurnLimits, TurnPolicy } from '../../src/turn/index.js';
import { PeerFilter, type PeerFilterOptions } from '../../src/turn/peer-filter/index.js';

/** Options of startSecurityHost. */
export interface SecurityHostOptions {
  relayMin: number;
  relayMax: number;
  /** Listen and IPv4 relay IP (default 127.0.0.1). */
  ip?: string;
  /** IPv6 relay IP (e.g. '::1'); IPv6 listeners are not opened. */
  relayIp6?: string;
  /** Peer filter options; `serverAddresses` default to the listen and relay IPs. */
  filter?: PeerFilterOptions;
  /** Replaces parts of the policy (checkPeer comes from the filter unless given). */
  policy?: Partial<TurnPolicy>;
  limits?: Partial<TurnLimits>;
  events?: TurnEvents;
  secret?: string;
  tls?: { certFile: string; keyFile: string };
  streamLimits?: Partial<StreamLimits>;
  tickMs?: number;
}

/** Counters of what the core did. */
export interface HostCounters {
  /** "method/code" -> answers. */
  answers: Map<string, number>;
  /** drop reason -> drops. */
  drops: Map<string, number>;
  created: number;
  deleted: number;
  /** Datagrams or frames handed to the core by the listeners. */
  clientInputs: number;
  /** Datagrams handed to the core by relay sockets. */
  peerInputs: number;
  /** Peer destinations the core asked the transport to send to ("ip port" -> packets). */
  toPeers: Map<string, number>;
  errors: TransportError[];
}

/** A running host. */
export interface SecurityHost {
  host: TurnHost;
  udp: UdpListener;
  tcp: StreamListening;
  tls: StreamListening | null;
  ip: string;
  filter: PeerFilter;
  counters: HostCounters;
  /** Listening address of `transport`. */
  address(transport: 'udp' | 'tcp' | 'tls'): TransportAddress;
  credential(tenant: string, ttlSeconds?: number): { username: string; password: string };
  /** Answers counted for `method`/`code`. */
  answered(method: number, code: number): number;
  close(): Promise<void>;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Starts the host; the listeners use ephemeral ports. */
export async function startSecurityHost(options: SecurityHostOptions): Promise<SecurityHost> {
  const ip = options.ip ?? '127.0.0.1';
  const secrets = new SecretRing([options.secret ?? 'security-secret']);
  const counters: HostCounters = {
    answers: new Map(),
    drops: new Map(),
    created: 0,
    deleted: 0,
    clientInputs: 0,
    peerInputs: 0,
    toPeers: new Map(),
    errors: [],
  };
  const serverAddresses = [ip, ...(options.relayIp6 === undefined ? [] : [options.relayIp6])];
  const filter = new PeerFilter({ serverAddresses, ...options.filter });
  const extra = options.events ?? {};
  const events: TurnEvents = {
    ...extra,
    requestAnswered: (method, code, transport, withIntegrity, client) => {
      bump(counters.answers, `${method}/${code}`);
      extra.requestAnswered?.(method, code, transport, withIntegrity, client);
    },
    packetDropped: (reason) => {
      bump(counters.drops, reason);
      extra.packetDropped?.(reason);
    },
    allocationCreated: (allocation) => {
      counters.created++;
      extra.allocationCreated?.(allocation);
    },
    allocationDeleted: (allocation, reason, durationMs) => {
      counters.deleted++;
      extra.allocationDeleted?.(allocation, reason, durationMs);
    },
  };
  const relays = [{ bindIp: ip }, ...(options.relayIp6 === undefined ? [] : [{ bindIp: options.relayIp6 }])];
  const host = new TurnHost({
    relays,
    minPort: options.relayMin,
    maxPort: options.relayMax,
    tickMs: options.tickMs ?? 200,
    onError: (error) => {
      if (counters.errors.length < 1000) counters.errors.push(error);
    },
    turn: {
      realm: 'icegate',
      software: 'icegate-security',
      secrets,
      nonces: new NonceFactory(NonceFactory.randomKey()),
      policy: { checkPeer: (address) => filter.check(address), ...options.policy },
      events,
      limits: options.limits ?? {},
    },
  });
  // Taps: what reaches the core, what the core sends towards peers.
  const core = host.core;
  const handleClient = core.handleClientPacket.bind(core);
  core.handleClientPacket = (tuple: FiveTuple, data: Buffer) => {
    counters.clientInputs++;
    handleClient(tuple, data);
  };
  const handlePeer = core.handlePeerPacket.bind(core);
  core.handlePeerPacket = (relayId: number, from: TransportAddress, data: Buffer) => {
    counters.peerInputs++;
    handlePeer(relayId, from, data);
  };
  const sink = host.sink;
  const sendToPeer = sink.sendToPeer.bind(sink);
  sink.sendToPeer = (relayId, peer, data, offset, length) => {
    bump(counters.toPeers, `${peer.address} ${peer.port}`);
    sendToPeer(relayId, peer, data, offset, length);
  };
  try {
    const udp = await host.listenUdp(ip, 0);
    const tcp = await host.listenTcp(ip, 0, options.streamLimits);
    const tls =
      options.tls === undefined
        ? null
        : await host.listenTls(ip, 0, { ...options.tls, watch: false, limits: options.streamLimits ?? {} });
    return {
      host,
      udp,
      tcp,
      tls,
      ip,
      filter,
      counters,
      address: (transport) => {
        const listener = transport === 'udp' ? udp : transport === 'tcp' ? tcp : tls;
        if (listener === null) throw new Error('no TLS listener');
        return listener.address;
      },
      credential: (tenant, ttlSeconds = 3600) => {
        const minted = mintCredential(secrets, { tenant, ttlSeconds, now: Date.now() });
        return { username: minted.username, password: minted.password };
      },
      answered: (method, code) => counters.answers.get(`${method}/${code}`) ?? 0,
      close: () => host.close(),
    };
  } catch (error) {
    await host.close();
    throw error;
  }
}
