// Shared pieces of the native data plane tests (issue 9): whether the addon built (the tests are
// skipped, with the reason printed, only when it did not), a whole icegate node started with
// TURN_DATA_PLANE=native (embedded mode in a temp dir, tenant 'acme' provisioned through the admin
// API), and a TurnHost-level native relay with short lifetimes for werift.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import type { Icegate } from '../../src/main.js';
import { TurnHost } from '../../src/transport/index.js';
import {
  loadNativeDataPlane,
  type NativeDataPlane,
  type NativePlaneCounters,
  type NativeRelayPlane,
  type NativeUdpListener,
  requireNativeAddon,
} from '../../src/transport/native/index.js';
import type { AllocationView, TurnEvents, TurnLimits } from '../../src/turn/index.js';
import { PeerFilter } from '../../src/turn/peer-filter/index.js';
import type { PortBlock } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  DRAIN_ADMIN_SECRET,
  DRAIN_TURN_SECRET,
  provisionTenant,
  type TenantSecrets,
} from './drain-harness.js';
import { startOnEphemeralPorts } from './gate-harness.js';
import { CapturingLogger } from './http-harness.js';

/** Why the native tests cannot run here (the addon did not build), or null when they can. */
export const NATIVE_UNAVAILABLE: string | null = (() => {
  if (process.env.ICEGATE_SKIP_NATIVE === '1') return 'ICEGATE_SKIP_NATIVE=1';
  try {
    requireNativeAddon();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
})();

/** Prints why a native test file is skipped (vitest shows the skip, this shows the reason). */
export function announceSkip(file: string): void {
  if (NATIVE_UNAVAILABLE !== null)
    console.warn(`${file}: native data plane tests skipped: ${NATIVE_UNAVAILABLE}`);
}

/** The TURN REST secret of native nodes (uclient logs in with -W and user 'acme'). */
export const NATIVE_TURN_SECRET = DRAIN_TURN_SECRET;

/** A whole node in native mode and what the tests read from it. */
export interface NativeNode {
  node: Icegate;
  logger: CapturingLogger;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT` of the metrics listener (METRICS_PORT) */
  metricsUrl: string;
  turnPort: number;
  /** Tenant 'acme', provisioned (active support) with a credential from POST /v1/ice-servers. */
  tenant: TenantSecrets;
  /** The native plane of the UDP listener. */
  plane: NativeRelayPlane;
  counters(): NativePlaneCounters;
  /** A REST credential for 'acme' minted with the node's TURN secret. */
  credential(): { username: string; password: string };
  close(): Promise<void>;
}

/**
 * Starts a node with TURN_DATA_PLANE=native on 127.0.0.1 (ephemeral TURN and HTTP ports).
 * `requireNative: false` lets it come up on the JS path (the fallback test); `plane` then throws.
 */
export async function startNativeNode(
  ports: PortBlock,
  env: Record<string, string> = {},
  options: { requireNative?: boolean } = {},
): Promise<NativeNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'icegate-native-'));
  const config = {
    ...loadConfig({
      TURN_LISTEN_IP: '127.0.0.1',
      HTTP_LISTEN_IP: '127.0.0.1',
      METRICS_LISTEN_IP: '127.0.0.1',
      TURN_MIN_PORT: String(ports.relayMin),
      TURN_MAX_PORT: String(ports.relayMax),
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      TURN_SECRETS: DRAIN_TURN_SECRET,
      ADMIN_TOKEN_SECRET: DRAIN_ADMIN_SECRET,
      TURN_DATA_PLANE: 'native',
      DATA_DIR: dataDir,
      DRAIN_TIMEOUT_SECONDS: '0',
      LOG_LEVEL: 'error',
      ...env,
    }),
    // The schema refuses port 0; a test node takes ephemeral ports.
    TURN_PORT: 0,
    HTTP_PORT: 0,
    METRICS_PORT: 0,
  };
  const logger = new CapturingLogger();
  let node: Icegate | null = null;
  try {
    node = await startOnEphemeralPorts(config, {
      logger,
      rateLimits: { perIp: { limit: 100_000, windowMs: 60_000 } },
    });
    const url = `http://127.0.0.1:${node.httpPort()}`;
    const tenant = await provisionTenant(url, 'acme');
    const listener = options.requireNative === false ? null : nativeListenerOf(node.relay);
    const running = node;
    const ring = new SecretRing([DRAIN_TURN_SECRET]);
    return {
      node,
      logger,
      url,
      metricsUrl: `http://127.0.0.1:${node.metricsPort()}`,
      turnPort: node.turnAddress().port,
      tenant,
      get plane() {
        if (listener === null) throw new Error('no native plane (JS data path)');
        return listener.plane;
      },
      counters: () => {
        if (listener === null) throw new Error('no native plane (JS data path)');
        return listener.plane.counters();
      },
      credential: () => {
        const minted = mintCredential(ring, { tenant: 'acme', ttlSeconds: 3600, now: Date.now() });
        return { username: minted.username, password: minted.password };
      },
      async close() {
        await running.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await node?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The native listener a host opened (throws when the node runs the JS path). */
function nativeListenerOf(host: TurnHost): NativeUdpListener {
  const listener = host.native?.listeners()[0];
  if (listener === undefined) throw new Error('the node has no native UDP listener (JS data path?)');
  return listener;
}

/** A TurnHost-level native relay for werift: short lifetimes, loopback peers, a record of events. */
export interface NativeTestRelay {
  host: TurnHost;
  port: number;
  plane: NativeRelayPlane;
  created: AllocationView[];
  refreshed: number[];
  deleted: string[];
  credential(tenant: string, ttlSeconds?: number): { username: string; password: string };
  close(): Promise<void>;
}

/** Starts a TurnHost with the native plane, a native UDP listener on 127.0.0.1 and relays in `ports`. */
export async function startNativeTestRelay(
  ports: PortBlock,
  lifetime: number,
  limits: Partial<TurnLimits> = {},
): Promise<NativeTestRelay> {
  const dataPlane: NativeDataPlane | null = loadNativeDataPlane();
  if (dataPlane === null) throw new Error('native addon not loadable');
  const secrets = new SecretRing(['native-werift-secret']);
  const filter = new PeerFilter({ allowLoopback: true });
  const created: AllocationView[] = [];
  const refreshed: number[] = [];
  const deleted: string[] = [];
  const events: TurnEvents = {
    allocationCreated: (a) => created.push(a),
    allocationRefreshed: (_a, seconds) => refreshed.push(seconds),
    allocationDeleted: (_a, reason) => deleted.push(reason),
  };
  const host = new TurnHost({
    relays: [{ bindIp: '127.0.0.1' }],
    minPort: ports.relayMin,
    maxPort: ports.relayMax,
    tickMs: 200,
    dataPlane,
    turn: {
      realm: 'icegate',
      software: 'icegate-test',
      secrets,
      nonces: new NonceFactory(NonceFactory.randomKey()),
      policy: { checkPeer: (address) => filter.check(address) },
      events,
      limits: { defaultLifetime: lifetime, maxLifetime: lifetime, ...limits },
    },
  });
  const listener = await host.listenNativeUdp('127.0.0.1', 0);
  return {
    host,
    port: listener.address.port,
    plane: listener.plane,
    created,
    refreshed,
    deleted,
    credential: (tenant, ttlSeconds = 3600) => {
      const minted = mintCredential(secrets, { tenant, ttlSeconds, now: Date.now() });
      return { username: minted.username, password: minted.password };
    },
    close: () => host.close(),
  };
}

/** Waits until `check` holds (polling every 50 ms), failing after `timeoutMs` with `what`. */
/**
 * A TURN client on 127.0.0.1:`port` with `credential`, added to `opened` so the file's afterEach
 * closes it.
 */
export async function loopbackTurnClient(
  port: number,
  credential: { username: string; password: string },
  opened: { push(client: TurnClient): number },
): Promise<TurnClient> {
  const c = await TurnClient.open({ address: '127.0.0.1', port, ...credential });
  opened.push(c);
  return c;
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
