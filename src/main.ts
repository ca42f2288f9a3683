// The composition root: the only place that wires adapters together (DESIGN.md). It reads the
// validated configuration, opens the store and the entitlement layer, starts the relay and the
// HTTP API, connects enforcement, and drains gracefully on SIGTERM.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { deriveNonceKey, NonceFactory, SecretRing } from './auth/index.js';
import { cliCommand } from './cli/command-name.js';
import { DEFAULT_ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from './composition/admin-token.js';
import { auditLogListener } from './composition/audit-log.js';
import { resolveSecrets } from './composition/embedded-secrets.js';
import { Enforcement } from './composition/enforcement.js';
import { fanOutEvents } from './composition/event-fanout.js';
import { FleetAdmin, type LocalAllocations } from './composition/fleet-admin.js';
import { defaultNodeId, FleetQuota } from './composition/fleet-quota.js';
import { MemoryTrim } from './composition/memory-trim.js';
import { NodeLiveness } from './composition/node-liveness.js';
import {
  enableOptimizingCompiler,
  OptimizerSwitch,
  startedWithoutTurbofan,
} from './composition/optimizing-compiler.js';
import { wireReissueQueue } from './composition/reissue-queue-wiring.js';
import { sampleRelayDrops, warnIfBufferCapped } from './composition/relay-buffers.js';
import { RelayObserver } from './composition/relay-observer.js';
import { createRelayPolicy } from './composition/relay-policy.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { CachePolicy } from './entitlement/cache/cached-entitlement.js';
import { TenantNoticeWatcher } from './entitlement/cache/file-tenant-notices.js';
import { cacheMetricsFrom } from './entitlement/cache/index.js';
import { createEntitlementRuntime, type EntitlementRuntime } from './entitlement/service/index.js';
import { type EntitlementStore, openStore } from './entitlement/store/index.js';
import { QUIET_ROUTES } from './http/access-log.js';
import {
  createAppServer,
  createHttpApp,
  createMetricsServer,
  parseCredentialOpaque,
  type RateLimitSettings,
  Readiness,
  type RelayAllocationSummary,
  type RelayControl,
  rateLimiterFor,
  type TurnListener,
} from './http/index.js';
import { LicenseService } from './licensing/index.js';
import { NoisyAudit } from './licensing/noisy-audit.js';
import { createLogger, type Logger } from './log/logger.js';
import { createMetrics, type IcegateMetrics } from './metrics/metrics.js';
import type { TransportAddress } from './stun/index.js';
import { type RelayAddressConfig, type StreamLimits, TurnHost } from './transport/index.js';
import { chooseDataPlane } from './transport/native/index.js';
import type { AllocationView } from './turn/index.js';
import { PeerFilter, resolveServerAddresses } from './turn/peer-filter/index.js';
import { type UsageAccountant, usageAccountantFor } from './usage/index.js';
import { icegateVersion } from './version.js';

/** A running icegate node. */
export interface Icegate {
  config: Config;
  metrics: IcegateMetrics;
  store: EntitlementStore;
  runtime: EntitlementRuntime;
  /** The relay: the TURN core (`relay.core`), its listeners and relay sockets. */
  relay: TurnHost;
  /** The fleet-wide allocation ledger; null without Redis (the quota is per node then). */
  fleetQuota: FleetQuota | null;
  /** Per-tenant usage accounting (issue 6): flushed to the store every minute and at close. */
  usage: UsageAccountant;
  http: Server;
  /** The Prometheus listener (METRICS_PORT): /metrics only, never on the API port. */
  metricsServer: Server;
  readiness: Readiness;
  /** The bound TURN (UDP; TCP shares the port) and HTTP addresses. */
  turnAddress(): TransportAddress;
  httpPort(): number;
  metricsPort(): number;
  /** Stops accepting new allocations and HTTP readiness; resolves when allocations are gone or at the deadline. */
  drain(deadlineMs?: number): Promise<void>;
  /** Closes everything at once. */
  close(): Promise<void>;
}

/** Options beyond configuration (tests inject a logger). */
export interface StartOptions {
  logger?: Logger;
  /** Called once with the generated secrets at first embedded start. */
  onFirstStart?: (info: { turnSecret: string; adminToken: string; dataDir: string }) => void;
  /** Prefix of every Redis key and channel (default 'icegate:'); tests use one per test, nodes of one fleet share it. */
  redisPrefix?: string;
  /** Entitlement cache lifetimes (tests shorten them to reach "stale" quickly). */
  cachePolicy?: Partial<CachePolicy>;
  /** HTTP rate limits (default DEFAULT_RATE_LIMITS); tests that poll from one address raise them. */
  rateLimits?: Partial<RateLimitSettings>;
  /** Node heartbeat period and dead-node timeout, ms (defaults DEFAULT_HEARTBEAT_MS, DEFAULT_NODE_TIMEOUT_MS). */
  liveness?: { heartbeatMs?: number; timeoutMs?: number };
  /** Interval of the TURN refusal summary lines, ms (default 30 s); tests shorten it. */
  refusalLogIntervalMs?: number;
  /**
   * Delay from start to the C heap trim and TurboFan on (unless traffic came first), ms (default
   * TRIM_AFTER_START_MS); tests shorten it.
   */
  trimAfterStartMs?: number;
}

/**
 * The C heap is trimmed this long after the node has started: Node's post-start work (V8's
 * background compile jobs, the first collections) has freed its memory by then.
 */
export const TRIM_AFTER_START_MS = 5_000;

function formatAddress(a: TransportAddress): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function relayControl(
  relay: TurnHost,
  observer: RelayObserver,
  nodeId: string,
  fleet: FleetAdmin | null,
): RelayControl {
  const summary = (a: AllocationView): RelayAllocationSummary => {
    const keyId = a.opaque === undefined ? null : (parseCredentialOpaque(a.opaque)?.keyId ?? null);
    return {
      node: nodeId,
      id: a.id,
      tenant: a.tenant,
      username: a.username,
      keyId,
      transport: a.tuple.transport,
      client: formatAddress(a.tuple.client),
      relayed: formatAddress(a.relay),
      createdAt: new Date(a.createdAt).toISOString(),
      expiresAt: new Date(a.expiresAt).toISOString(),
    };
  };
  const local: RelayControl = {
    listAllocations: (tenant) => relay.core.listAllocations(tenant).map(summary),
    closeAllocationsOfTenant: (tenant) => closeAsAdmin(relay, observer, tenant),
  };
  if (fleet === null) return local;
  return {
    ...local,
    listFleetAllocations: (tenant) => fleet.listAllocations(tenant),
    closeFleetAllocations: (tenant) => fleet.closeAllocations(tenant),
  };
}

/** Closes a tenant's allocations here, counted and logged as admin_closed, not as a lost entitlement (issue 18). */
function closeAsAdmin(relay: TurnHost, observer: RelayObserver, tenant: string): number {
  observer.setPolicyReason(tenant, 'admin_closed');
  try {
    return relay.core.closeAllocationsOfTenant(tenant);
  } finally {
    observer.clearPolicyReason(tenant);
  }
}

/** The local side of fleet admin requests over the TURN core (a close asked by another node is admin_closed too). */
function localAllocations(relay: TurnHost, observer: RelayObserver, control: RelayControl): LocalAllocations {
  return {
    list: (tenant) => control.listAllocations(tenant) as RelayAllocationSummary[],
    close: (tenant) => closeAsAdmin(relay, observer, tenant),
  };
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function trustProxySetting(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Starts a node from `config`. */
export async function startIcegate(config: Config, options: StartOptions = {}): Promise<Icegate> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const log = logger.child({ component: 'main' });
  const metrics = createMetrics({ version: icegateVersion() });

  const secrets = await resolveSecrets({
    embedded: config.embedded,
    dataDir: config.DATA_DIR,
    turnSecrets: config.TURN_SECRETS,
    adminTokenSecret: config.ADMIN_TOKEN_SECRET,
  });
  const ring = new SecretRing(secrets.turnSecrets);

  const store = await openStore({
    dataDir: config.DATA_DIR,
    ...(config.DATABASE_URL === undefined ? {} : { databaseUrl: config.DATABASE_URL }),
    pgSchema: config.DATABASE_SCHEMA,
    onPoolError: () => metrics.storeErrors.inc({ backend: 'postgres', operation: 'read' }),
    onAudit: auditLogListener(logger),
  });
  const noisyAudit = new NoisyAudit({
    store,
    onError: (err) =>
      log.warn('audit record not written', { error: err instanceof Error ? err.message : String(err) }),
  });
  const runtime = createEntitlementRuntime({
    store,
    logger,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
    graceDays: config.SUPPORT_GRACE_DAYS,
    metrics: cacheMetricsFrom(metrics, store.kind),
    ...(options.redisPrefix === undefined ? {} : { redisPrefix: options.redisPrefix }),
    ...(options.cachePolicy === undefined ? {} : { policy: options.cachePolicy }),
  });
  // With Redis, a tenant's allocation quota holds across the fleet; without, per node.
  const nodeId = defaultNodeId();
  const fleetQuota =
    runtime.redis === undefined
      ? null
      : new FleetQuota({
          redis: runtime.redis.commands,
          prefix: runtime.redisPrefix,
          health: runtime.redisHealth,
          logger,
          nodeId,
          maxLifetimeSeconds: config.TURN_MAX_LIFETIME,
        });
  const licenses = new LicenseService(store, { graceDays: config.SUPPORT_GRACE_DAYS });
  // In embedded mode, CLI commands sharing DATA_DIR tell this node of their changes through a file.
  const notices =
    config.embedded && config.REDIS_URL === undefined
      ? new TenantNoticeWatcher({ dataDir: config.DATA_DIR, events: runtime.events, logger })
      : null;
  await notices?.start();
  const reissueRequests = wireReissueQueue({
    store,
    licenses,
    closingDays: config.SUPPORT_CLOSING_DAYS,
    registry: metrics.registry,
    logger,
  });

  const filter = new PeerFilter({
    deny: config.TURN_DENIED_PEERS,
    allow: config.TURN_ALLOWED_PEERS,
    allowLoopback: config.TURN_ALLOW_LOOPBACK_PEERS,
    serverAddresses: resolveServerAddresses([config.TURN_LISTEN_IP, config.relayIp, config.externalIp]),
  });
  const usage = usageAccountantFor(runtime, {
    store,
    logger,
    onStoreError: () => metrics.storeErrors.inc({ backend: store.kind, operation: 'write' }),
  });
  const observer = new RelayObserver(metrics, logger, usage, Date.now, {
    ...(options.refusalLogIntervalMs === undefined
      ? {}
      : { refusalIntervalMs: options.refusalLogIntervalMs }),
  });
  const relays: RelayAddressConfig[] = [{ bindIp: config.relayIp, externalIp: config.externalIp }];
  if (config.TURN_RELAY_IP6 !== undefined) {
    relays.push({
      bindIp: config.TURN_RELAY_IP6,
      externalIp: config.TURN_EXTERNAL_IP6 ?? config.TURN_RELAY_IP6,
    });
  }
  // Built before the relay, whose events tell it which tenants to watch; it reaches the relay only
  // once allocations exist.
  const enforcement: Enforcement = new Enforcement({
    relay: {
      listAllocations: (tenant?: string): AllocationView[] => relay.core.listAllocations(tenant),
      closeAllocation: (id: number): boolean => relay.core.closeAllocation(id),
      closeAllocationsOfTenant: (tenant: string): number => relay.core.closeAllocationsOfTenant(tenant),
    },
    events: runtime.events,
    entitlements: runtime.service,
    observer,
    logger,
    graceMs: config.ENFORCEMENT_GRACE_SECONDS * 1000,
    keys: runtime.keys,
  });
  // TURN_DATA_PLANE=native (the default) without a loadable addon runs the JS path (one warning
  // naming the reason, from loadNativeDataPlane).
  const dataPlane = chooseDataPlane(config.TURN_DATA_PLANE, logger);
  const relay: TurnHost = new TurnHost({
    relays,
    minPort: config.TURN_MIN_PORT,
    maxPort: config.TURN_MAX_PORT,
    ...(dataPlane.mode === 'native' ? { dataPlane: dataPlane.plane } : {}),
    relaySocketBuffer: config.TURN_RELAY_SOCKET_BUFFER,
    onError: (error) => log.warn('transport error', { code: error.code, error: error.message }),
    onNativeThreads: (active, moved) => {
      metrics.nativeDataThreads.set(active);
      log.info('native data threads in use changed', { active, movedRelays: moved });
    },
    turn: {
      realm: config.TURN_REALM,
      software: 'icegate',
      secrets: ring,
      // Derived from the first TURN secret, so a nonce from one node is good on every node.
      nonces: new NonceFactory(deriveNonceKey(secrets.turnSecrets[0]!)),
      policy: createRelayPolicy({
        entitlements: runtime.service,
        allocationsPerLicense: config.TURN_ALLOCATIONS_PER_LICENSE,
        allocationsPerUser: config.TURN_ALLOCATIONS_PER_USER,
        checkPeer: (address) => filter.check(address),
        logger,
        ...(fleetQuota === null ? {} : { fleetQuota }),
        keys: runtime.keys,
      }),
      events:
        fleetQuota === null
          ? fanOutEvents(observer.events(), enforcement.events())
          : fanOutEvents(observer.events(), fleetQuota.events(), enforcement.events()),
      limits: {
        defaultLifetime: config.TURN_DEFAULT_LIFETIME,
        maxLifetime: config.TURN_MAX_LIFETIME,
        permissionLifetime: config.TURN_PERMISSION_LIFETIME,
        channelLifetime: config.TURN_CHANNEL_LIFETIME,
        unauthenticatedBurst: config.TURN_UNAUTH_BURST,
        unauthenticatedRate: config.TURN_UNAUTH_RATE,
      },
    },
  });
  const streamLimits: Partial<StreamLimits> = {
    maxConnections: config.TURN_TCP_MAX_CONNECTIONS,
    maxConnectionsPerIp: config.TURN_TCP_MAX_CONNECTIONS_PER_IP,
    idleTimeoutMs: config.TURN_TCP_IDLE_TIMEOUT * 1000,
  };
  const listeners: TurnListener[] = [];
  let turnAddress: TransportAddress;
  try {
    const udp =
      dataPlane.mode === 'native'
        ? await relay.listenNativeUdp(config.TURN_LISTEN_IP, config.TURN_PORT)
        : await relay.listenUdp(config.TURN_LISTEN_IP, config.TURN_PORT);
    turnAddress = udp.address;
    metrics.nativeDataThreads.set('plane' in udp ? udp.plane.info().active : 0);
    listeners.push({ transport: 'udp', host: config.externalIp, port: turnAddress.port });
    // TURN over TCP shares the UDP port number (RFC 8656 section 3.1), as clients expect.
    const tcp = await relay.listenTcp(config.TURN_LISTEN_IP, turnAddress.port, streamLimits);
    listeners.push({ transport: 'tcp', host: config.externalIp, port: tcp.address.port });
    if (config.TURN_TLS_CERT !== undefined && config.TURN_TLS_KEY !== undefined) {
      const tlsOptions = {
        certFile: config.TURN_TLS_CERT,
        keyFile: config.TURN_TLS_KEY,
        limits: streamLimits,
      };
      const tlsHost = config.TURN_TLS_HOST ?? config.externalIp;
      const tls = await relay.listenTls(config.TURN_LISTEN_IP, config.TURN_TLS_PORT, tlsOptions);
      listeners.push({ transport: 'tls', host: tlsHost, port: tls.address.port });
      if (config.TURN_TLS_ALT_PORT !== undefined) {
        const alt = await relay.listenTls(config.TURN_LISTEN_IP, config.TURN_TLS_ALT_PORT, tlsOptions);
        listeners.push({ transport: 'tls', host: tlsHost, port: alt.address.port });
      }
    }
  } catch (err) {
    enforcement.close();
    await relay.close();
    throw err;
  }
  fleetQuota?.attach(() => relay.core.listAllocations());
  // Heartbeats: a dead node's quota members are dropped by the others (issue 18).
  const liveness =
    runtime.redis === undefined || fleetQuota === null
      ? null
      : new NodeLiveness({
          redis: runtime.redis.commands,
          prefix: runtime.redisPrefix,
          nodeId,
          health: runtime.redisHealth,
          logger,
          onReclaimed: () => fleetQuota.resync(),
          ...options.liveness,
        });
  const localControl = relayControl(relay, observer, nodeId, null);
  const fleetAdmin =
    runtime.redis === undefined || liveness === null
      ? null
      : new FleetAdmin({
          redis: runtime.redis.commands,
          prefix: runtime.redisPrefix,
          nodeId,
          liveNodes: () => liveness.liveNodes(),
          local: localAllocations(relay, observer, localControl),
          logger,
        });
  const relayFamilies = relay.relays.families;
  // With the native plane (the addon loaded) start-up's V8 garbage is collected once and the C
  // heap's free pages go back to the kernel after start-up and after large falls in live
  // allocations (composition/memory-trim.ts).
  const memoryTrim =
    dataPlane.mode === 'native'
      ? new MemoryTrim(() => dataPlane.plane.trimMemory(), {
          collectGarbage: async () => {
            const before = process.memoryUsage();
            const startedAt = performance.now();
            await dataPlane.plane.collectIdleGarbage();
            const durationMs = Math.round(performance.now() - startedAt);
            const after = process.memoryUsage();
            log.debug('V8 heap collected', {
              durationMs,
              heapUsedBefore: before.heapUsed,
              heapUsedAfter: after.heapUsed,
              heapTotalBefore: before.heapTotal,
              heapTotalAfter: after.heapTotal,
            });
          },
          onTrim: (reason, released) => log.debug('C heap trimmed', { reason, released }),
        })
      : null;
  const sampleGauges = () => {
    observer.sample(relay.core.listAllocations());
    memoryTrim?.sample(relay.core.allocationCount);
    for (const family of relayFamilies) {
      const label = family === 'IPv4' ? 'ipv4' : 'ipv6';
      metrics.relayPortsInUse.set({ family: label }, relay.relayPortsInUse(family));
      metrics.relayPortRange.set({ family: label }, config.TURN_MAX_PORT - config.TURN_MIN_PORT + 1);
    }
    void relay.certificatesNotAfter().then((notAfter) => {
      if (notAfter !== null) metrics.tlsCertificateNotAfter.set(notAfter.getTime() / 1000);
    });
  };
  sampleGauges();
  const gaugeSampler = setInterval(sampleGauges, 5_000);
  gaugeSampler.unref();
  const stopDropSampler = sampleRelayDrops(relay, metrics);
  warnIfBufferCapped(config.TURN_RELAY_SOCKET_BUFFER, log);

  const readiness = new Readiness();
  const trustProxy = trustProxySetting(config.HTTP_TRUST_PROXY);
  const app = createHttpApp({
    config: { ...config, ADMIN_TOKEN_SECRET: secrets.adminTokenSecret },
    logger,
    metrics,
    entitlements: runtime.service,
    keys: runtime.keys,
    licenses,
    reissueRequests,
    store,
    noisyAudit,
    events: runtime.events,
    ring,
    relay: relayControl(relay, observer, nodeId, fleetAdmin),
    listeners,
    checkPage: { relayPorts: { min: config.TURN_MIN_PORT, max: config.TURN_MAX_PORT } },
    readiness,
    rateLimiter: rateLimiterFor(runtime),
    rateLimits: {
      perIp: { limit: config.RATE_LIMIT_PER_IP, windowMs: 60_000 },
      perTenant: { limit: config.RATE_LIMIT_PER_TENANT, windowMs: 60_000 },
      ...options.rateLimits,
    },
    usage,
    ...(trustProxy === undefined ? {} : { trustProxy }),
  });
  // Bounded header size and timeouts: a slow or oversized request cannot hold a socket forever.
  // connectionsCheckingInterval: Node checks these timeouts every 30 s by default, which would let
  // a slowloris connection outlive headersTimeout by that much.
  // Requests and responses are built with the app's prototypes (app-server.ts, issue 19).
  const http = createAppServer(app, {
    maxHeaderSize: 16 * 1024,
    requestTimeout: 30_000,
    headersTimeout: 10_000,
    connectionsCheckingInterval: 1_000,
  });
  http.keepAliveTimeout = 5_000;
  const metricsServer = createMetricsServer(metrics.registry, logger);
  let startTrim: NodeJS.Timeout | undefined;
  // TurboFan, off for start-up (npm start's --no-opt), on at the first of: start-up settled (the
  // timer below), the first HTTP request other than a probe, the first allocation.
  const optimizer = startedWithoutTurbofan()
    ? new OptimizerSwitch(enableOptimizingCompiler, (reason) =>
        log.info('optimizing compiler on', { after: reason }),
      )
    : null;
  optimizer?.watchHttp(http, QUIET_ROUTES);
  optimizer?.watchAllocations(() => relay.core.allocationsCreated);
  const closeAll = async () => {
    clearInterval(gaugeSampler);
    clearTimeout(startTrim);
    optimizer?.stop();
    await notices?.close();
    stopDropSampler();
    enforcement.close();
    fleetAdmin?.stop();
    observer.close();
    // The relay's closes remove this node's ledger members (queued before Redis is quit).
    await relay.close();
    await liveness?.close();
    await fleetQuota?.close();
    await usage.close(); // after the relay, so the closed allocations' last seconds are in
    for (const server of [http, metricsServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await runtime.close();
    await noisyAudit.close();
    await store.close();
  };
  try {
    await listenOn(http, config.HTTP_PORT, config.HTTP_LISTEN_IP);
    await listenOn(metricsServer, config.METRICS_PORT, config.METRICS_LISTEN_IP);
  } catch (err) {
    // A port already taken: close what was opened, so the caller (or a retry) starts clean.
    await closeAll();
    throw err;
  }

  const redisOk = await runtime.waitForRedis();
  if (!redisOk) log.warn('Redis not reachable at start: running on the store alone until it answers');
  liveness?.start();
  readiness.markReady();
  log.info('icegate started', {
    turn: formatAddress(turnAddress),
    http: (http.address() as AddressInfo).port,
    metrics: (metricsServer.address() as AddressInfo).port,
    store: store.kind,
    redis: config.REDIS_URL === undefined ? 'in-process' : 'configured',
    externalIp: config.externalIp,
    relayPorts: `${config.TURN_MIN_PORT}-${config.TURN_MAX_PORT}`,
    dataPlane: dataPlane.mode,
  });
  // Once start-up has settled: MemoryTrim collects the V8 heap only on a node that has had no
  // allocation yet (one that has is in service: its code is hot), then trims the C heap; then
  // TurboFan goes on if traffic has not turned it on already (src/composition/optimizing-compiler.ts).
  startTrim = setTimeout(() => {
    void (async () => {
      if (memoryTrim !== null) await memoryTrim.afterStart(relay.core.allocationsCreated);
      optimizer?.turnOn('start-up settled');
    })();
  }, options.trimAfterStartMs ?? TRIM_AFTER_START_MS);
  startTrim.unref();
  if (config.TURN_ALLOW_LOOPBACK_PEERS)
    log.warn('TURN_ALLOW_LOOPBACK_PEERS is on: for tests only, never in production');
  if (config.TURN_PERMISSION_LIFETIME < 300 || config.TURN_CHANNEL_LIFETIME < 600)
    log.warn(
      'TURN_PERMISSION_LIFETIME or TURN_CHANNEL_LIFETIME is below RFC 8656 (300 s / 600 s): clients refreshing at RFC intervals will lose peers',
      {
        permissionLifetime: config.TURN_PERMISSION_LIFETIME,
        channelLifetime: config.TURN_CHANNEL_LIFETIME,
      },
    );

  if (secrets.generated && secrets.adminTokenSecret !== undefined) {
    const { token: adminToken } = mintAdminToken(secrets.adminTokenSecret, { subject: 'embedded-admin' });
    // Only what was generated is shown: a TURN secret the operator configured is never printed.
    options.onFirstStart?.({
      turnSecret:
        config.TURN_SECRETS === undefined ? secrets.turnSecrets[0]! : '(configured in TURN_SECRETS)',
      adminToken,
      dataDir: config.DATA_DIR,
    });
  }

  let closed = false;
  const node: Icegate = {
    config,
    metrics,
    store,
    runtime,
    relay,
    fleetQuota,
    usage,
    http,
    metricsServer,
    readiness,
    turnAddress: () => turnAddress,
    httpPort: () => (http.address() as AddressInfo).port,
    metricsPort: () => (metricsServer.address() as AddressInfo).port,
    async drain(deadlineMs = config.DRAIN_TIMEOUT_SECONDS * 1000) {
      readiness.startDraining();
      metrics.draining.set(1);
      metrics.drainDeadline.set(Math.round((Date.now() + deadlineMs) / 1000));
      observer.markDraining();
      relay.core.drain();
      log.info('draining: new allocations refused, live ones continue', {
        allocations: relay.core.allocationCount,
        deadlineSeconds: Math.round(deadlineMs / 1000),
      });
      const deadline = Date.now() + deadlineMs;
      while (relay.core.allocationCount > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      log.info('drain finished', { remaining: relay.core.allocationCount });
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
    },
  };
  return node;
}

function printFirstStart(info: { turnSecret: string; adminToken: string; dataDir: string }): void {
  // Shown once, on the terminal, by design (DESIGN.md: generated and printed once in embedded
  // mode); never through the logger, which redacts secrets.
  process.stderr.write(
    [
      '',
      '  icegate first start (embedded mode): secrets generated and kept in ' +
        `${info.dataDir}/secrets.json`,
      `  TURN secret (TURN_SECRETS):  ${info.turnSecret}`,
      `  admin token (${DEFAULT_ADMIN_TOKEN_TTL_SECONDS / 86_400} days):       ${info.adminToken}`,
      `  Keep them safe; they are not shown again. \`${cliCommand()} admin-token\` mints a new admin token`,
      '  from the same DATA_DIR (or from ADMIN_TOKEN_SECRET) at any time.',
      '',
      '',
    ].join('\n'),
  );
}

/**
 * Runs a node until SIGTERM or SIGINT: what `npm start` and `icegate serve` do. Configuration from
 * the environment; a bad value exits 2 with a message naming the variable.
 */
export async function serve(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`icegate: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  const node = await startIcegate(config, { logger, onFirstStart: printFirstStart });
  if (config.embedded) {
    logger.info(`embedded mode: \`${cliCommand()} admin-token\` mints an admin token for /v1/admin`, {
      dataDir: config.DATA_DIR,
    });
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(0);
    }
    stopping = true;
    void node
      .drain(signal === 'SIGTERM' ? undefined : 0)
      .then(() => node.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Certificates are also reloaded when their files change; SIGHUP forces it, as operators expect.
  process.on('SIGHUP', () => void node.relay.reloadCertificates());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve().catch((err: unknown) => {
    process.stderr.write(`icegate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
