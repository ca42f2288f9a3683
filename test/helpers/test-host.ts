// A TurnHost on loopback with every transport for tests: UDP, TCP and (given a certificate) TLS
// listeners on ephemeral ports, relays in a given range (IPv4 and optionally IPv6), a TURN REST
// secret, loopback peers allowed, and a record of what the core reported.
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import type { TransportAddress } from '../../src/stun/index.js';
import {
  type StreamLimits,
  type StreamListening,
  type TransportError,
  TurnHost,
  type UdpListener,
} from '../../src/transport/index.js';
import { loadNativeDataPlane } from '../../src/transport/native/index.js';
import type {
  AllocationEndReason,
  AllocationView,
  ClientTransport,
  TurnLimits,
} from '../../src/turn/index.js';
import { PeerFilter } from '../../src/turn/peer-filter/index.js';

/** Options of startTestHost. */
export interface TestHostOptions {
  relayMin: number;
  relayMax: number;
  /** Listen and IPv4 relay IP (default 127.0.0.1); '::' or '::1' for IPv6 listeners. */
  listenIp?: string;
  /** IPv4 relay IP (default: listenIp when it is IPv4, else 127.0.0.1); null for none. */
  relayIp?: string | null;
  /** An IPv6 relay IP (e.g. '::1'). */
  relayIp6?: string;
  /** TLS certificate files; no TLS listener without them. */
  tls?: { certFile: string; keyFile: string; pollMs?: number; settleMs?: number };
  streamLimits?: Partial<StreamLimits>;
  limits?: Partial<TurnLimits>;
  secrets?: string[];
  tickMs?: number;
  /** Loopback peers allowed (default true); false applies the production peer filter. */
  allowLoopbackPeers?: boolean;
  /**
   * TCP clients on the native plane (NativeStreamListener) when the addon loads, as a node with
   * TURN_DATA_PLANE=native serves them; default true unless ICEGATE_NATIVE_STREAMS=js. UDP stays
   * on the JS listener here (the native-* suites cover the native UDP path).
   */
  nativeStreams?: boolean;
}

/** What the core and the sockets reported. */
export interface TestHostRecord {
  created: AllocationView[];
  /** The families of each allocation's relayed addresses when it was created (they may change). */
  createdFamilies: string[][];
  deleted: { allocation: AllocationView; reason: AllocationEndReason }[];
  errors: TransportError[];
  /** Every answered request, in order: which client asked what, over which transport, when. */
  answered: AnsweredRequest[];
}

/** One answered TURN request. */
export interface AnsweredRequest {
  /** Date.now() when answered. */
  at: number;
  method: number;
  code: number;
  transport: ClientTransport;
  /** `address:port` of the client. */
  client: string;
}

/** A running test host. */
export interface TestHost {
  host: TurnHost;
  udp: UdpListener;
  tcp: StreamListening;
  tls: StreamListening | null;
  secrets: SecretRing;
  record: TestHostRecord;
  credential(tenant: string): { username: string; password: string };
  close(): Promise<void>;
}

/** Starts a host with UDP and TCP (and TLS when certificates are given) listeners. */
export async function startTestHost(options: TestHostOptions): Promise<TestHost> {
  const secrets = new SecretRing(options.secrets ?? ['test-secret']);
  const record: TestHostRecord = { created: [], createdFamilies: [], deleted: [], errors: [], answered: [] };
  const filter = new PeerFilter({ allowLoopback: options.allowLoopbackPeers ?? true });
  const listenIp = options.listenIp ?? '127.0.0.1';
  const relayIp =
    options.relayIp === undefined ? (listenIp.includes(':') ? '127.0.0.1' : listenIp) : options.relayIp;
  const relays = [];
  if (relayIp !== null) relays.push({ bindIp: relayIp });
  if (options.relayIp6 !== undefined) relays.push({ bindIp: options.relayIp6 });
  const wantNative = (options.nativeStreams ?? true) && process.env.ICEGATE_NATIVE_STREAMS !== 'js';
  const dataPlane = wantNative ? loadNativeDataPlane() : null;
  const host = new TurnHost({
    ...(dataPlane === null ? {} : { dataPlane }),
    relays,
    minPort: options.relayMin,
    maxPort: options.relayMax,
    tickMs: options.tickMs ?? 200,
    onError: (error) => {
      record.errors.push(error);
    },
    turn: {
      realm: 'icegate',
      software: 'icegate-test',
      secrets,
      nonces: new NonceFactory(NonceFactory.randomKey()),
      policy: { checkPeer: (address) => filter.check(address) },
      events: {
        allocationCreated: (allocation) => {
          record.created.push(allocation);
          const families = [allocation.relay.family];
          if (allocation.additional) families.push(allocation.additional.address.family);
          record.createdFamilies.push(families);
        },
        allocationDeleted: (allocation, reason) => record.deleted.push({ allocation, reason }),
        requestAnswered: (method, code, transport, _withIntegrity, client: TransportAddress) => {
          if (record.answered.length < 100_000) {
            record.answered.push({ at: Date.now(), method, code, transport, client: clientKey(client) });
          }
        },
      },
      limits: options.limits ?? {},
    },
  });
  try {
    const udp = await host.listenUdp(listenIp, 0);
    const tcp = await host.listenTcp(listenIp, 0, options.streamLimits);
    const tls =
      options.tls === undefined
        ? null
        : await host.listenTls(listenIp, 0, { ...options.tls, limits: options.streamLimits ?? {} });
    return {
      host,
      udp,
      tcp,
      tls,
      secrets,
      record,
      credential: (tenant) => {
        const minted = mintCredential(secrets, { tenant, ttlSeconds: 3600, now: Date.now() });
        return { username: minted.username, password: minted.password };
      },
      close: () => host.close(),
    };
  } catch (error) {
    await host.close();
    throw error;
  }
}

/** `address:port` (IPv6 in brackets). */
function clientKey(address: TransportAddress): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}
