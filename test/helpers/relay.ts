// A complete in-process icegate relay on loopback for tests: UDP listener on an ephemeral port,
// relays in a given range, TURN REST secret, loopback peers allowed, optional short lifetimes.
// Later tests (HTTP gate, browser) reuse it.
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import { startTurnUdp, type TransportError, type TurnUdpServer } from '../../src/transport/index.js';
import type {
  AllocationEndReason,
  AllocationView,
  TurnEvents,
  TurnLimits,
  TurnPolicy,
} from '../../src/turn/index.js';
import { PeerFilter } from '../../src/turn/peer-filter/index.js';

/** Options of startTestRelay. */
export interface TestRelayOptions {
  /** TURN REST secrets (the first mints); default ['test-secret']. */
  secrets?: string[];
  realm?: string;
  /** Relay port range, from test/helpers/ports.ts. */
  relayMin: number;
  relayMax: number;
  /** Short allocation lifetime (seconds) for refresh/expiry tests: sets defaultLifetime and maxLifetime. */
  lifetime?: number;
  limits?: Partial<TurnLimits>;
  /** Replaces the default policy (loopback-allowing PeerFilter, everyone authorized). */
  policy?: Partial<TurnPolicy>;
  /** Extra event handlers, called after the recorder's. */
  events?: TurnEvents;
  /** Tick period, ms (default 200 so short lifetimes expire promptly). */
  tickMs?: number;
  /** Listen IP, default 127.0.0.1. */
  listenIp?: string;
  /** An IPv6 relay address (e.g. '::1') for REQUESTED-ADDRESS-FAMILY IPv6. */
  relayIp6?: string;
}

/** What the relay observed. */
export interface RelayRecord {
  created: AllocationView[];
  refreshed: { allocation: AllocationView; lifetime: number }[];
  deleted: { allocation: AllocationView; reason: AllocationEndReason }[];
  answered: { method: number; code: number }[];
  dropped: string[];
  errors: TransportError[];
}

/** A running test relay. */
export interface TestRelay {
  server: TurnUdpServer;
  host: string;
  port: number;
  /** `turn:127.0.0.1:PORT?transport=udp` */
  url: string;
  secrets: SecretRing;
  record: RelayRecord;
  /** A REST credential for `tenant`, valid `ttlSeconds` (default 3600). */
  credential(tenant: string, ttlSeconds?: number): { username: string; password: string };
  close(): Promise<void>;
}

/** Starts a relay on 127.0.0.1 with an ephemeral listening port. */
export async function startTestRelay(options: TestRelayOptions): Promise<TestRelay> {
  const secrets = new SecretRing(options.secrets ?? ['test-secret']);
  const record: RelayRecord = {
    created: [],
    refreshed: [],
    deleted: [],
    answered: [],
    dropped: [],
    errors: [],
  };
  const extra = options.events ?? {};
  const events: TurnEvents = {
    ...extra,
    allocationCreated: (allocation) => {
      record.created.push(allocation);
      extra.allocationCreated?.(allocation);
    },
    allocationRefreshed: (allocation, lifetime) => {
      record.refreshed.push({ allocation, lifetime });
      extra.allocationRefreshed?.(allocation, lifetime);
    },
    allocationDeleted: (allocation, reason, durationMs) => {
      record.deleted.push({ allocation, reason });
      extra.allocationDeleted?.(allocation, reason, durationMs);
    },
    requestAnswered: (method, code, transport, withIntegrity, client) => {
      record.answered.push({ method, code });
      extra.requestAnswered?.(method, code, transport, withIntegrity, client);
    },
    packetDropped: (reason) => {
      if (record.dropped.length < 100_000) record.dropped.push(reason);
      extra.packetDropped?.(reason);
    },
  };
  const filter = new PeerFilter({ allowLoopback: true });
  const policy: TurnPolicy = { checkPeer: (address) => filter.check(address), ...options.policy };
  const lifetimes =
    options.lifetime === undefined
      ? {}
      : { defaultLifetime: options.lifetime, maxLifetime: options.lifetime };
  const listenIp = options.listenIp ?? '127.0.0.1';
  const server = await startTurnUdp({
    listenIp,
    port: 0,
    relayIp: listenIp,
    ...(options.relayIp6 === undefined ? {} : { relayIp6: options.relayIp6 }),
    minPort: options.relayMin,
    maxPort: options.relayMax,
    tickMs: options.tickMs ?? 200,
    onError: (error) => {
      record.errors.push(error);
    },
    turn: {
      realm: options.realm ?? 'icegate',
      software: 'icegate-test',
      secrets,
      nonces: new NonceFactory(NonceFactory.randomKey()),
      policy,
      events,
      limits: { ...lifetimes, ...options.limits },
    },
  });
  const port = server.address().port;
  return {
    server,
    host: listenIp,
    port,
    url: `turn:${listenIp}:${port}?transport=udp`,
    secrets,
    record,
    credential: (tenant, ttlSeconds = 3600) => {
      const minted = mintCredential(secrets, { tenant, ttlSeconds, now: Date.now() });
      return { username: minted.username, password: minted.password };
    },
    close: () => server.close(),
  };
}
