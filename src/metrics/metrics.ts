// Every icegate metric, defined in one place on a registry of its own (not prom-client's global
// one, so tests and embedded instances never collide). Names follow DESIGN.md: `icegate_`
// prefix, base units (bytes, seconds), `_total` on counters, and no tenant, user or IP label.
// Process and event-loop metrics come from prom-client's collectDefaultMetrics and keep its
// standard `process_` and `nodejs_` names (e.g. nodejs_eventloop_lag_seconds,
// process_resident_memory_bytes) so stock Node.js dashboards and alerts apply to them unchanged.

import {
  ADDRESS_FAMILIES,
  type AddressFamily,
  ALLOCATE_RESULTS,
  ALLOCATION_END_REASONS,
  type AllocateResult,
  type AllocationEndReason,
  AUTH_FAILURE_REASONS,
  type AuthFailureReason,
  CACHE_RESULTS,
  type CacheResult,
  CREDENTIAL_APIS,
  CREDENTIAL_OUTCOMES,
  type CredentialApi,
  type CredentialOutcome,
  DIRECTIONS,
  type Direction,
  type HttpMethod,
  PEER_DENIAL_REASONS,
  type PeerDenialReason,
  REDIS_OPERATIONS,
  type RedisOperation,
  STORE_BACKENDS,
  STORE_OPERATIONS,
  type StatusClass,
  type StoreBackend,
  type StoreOperation,
  TRANSPORTS,
  type Transport,
} from './label-sets.js';
import { collectDefaultMetrics, Gauge, Registry } from './prom-client.js';
import { RelayCounters } from './relay-counters.js';
import {
  closedCounter,
  closedGauge,
  type LabelledCounter,
  type LabelledGauge,
  type LabelledHistogram,
  labelledHistogram,
  type PlainGauge,
  plainGauge,
} from './typed-metric.js';

/** Metric names, for the HTTP layer, dashboards and tests to refer to. */
export const METRIC_NAMES = {
  allocationsActive: 'icegate_allocations_active',
  allocateRequests: 'icegate_allocate_requests_total',
  allocationsEnded: 'icegate_allocations_ended_total',
  allocationLifetime: 'icegate_allocation_lifetime_seconds',
  relayedBytes: 'icegate_relayed_bytes_total',
  relayedPackets: 'icegate_relayed_packets_total',
  permissionsActive: 'icegate_permissions_active',
  channelsActive: 'icegate_channels_active',
  authFailures: 'icegate_auth_failures_total',
  peerDenials: 'icegate_peer_denials_total',
  quotaRefusals: 'icegate_quota_refusals_total',
  credentialRequests: 'icegate_credential_requests_total',
  httpRequestDuration: 'icegate_http_request_duration_seconds',
  entitlementCacheLookups: 'icegate_entitlement_cache_lookups_total',
  storeErrors: 'icegate_store_errors_total',
  redisErrors: 'icegate_redis_errors_total',
  draining: 'icegate_draining',
  drainDeadline: 'icegate_drain_deadline_timestamp_seconds',
  relayPortsInUse: 'icegate_relay_ports_in_use',
  relayPortRange: 'icegate_relay_port_range_size',
  tlsCertificateNotAfter: 'icegate_tls_certificate_not_after_timestamp_seconds',
  nativeDataThreads: 'icegate_native_data_threads_active',
  relayReceiveBufferDrops: 'icegate_relay_receive_buffer_drops_total',
  buildInfo: 'icegate_build_info',
} as const;

/** Allocation lifetimes: from a failed ICE check (seconds) to a working day of meetings (8 h). */
export const ALLOCATION_LIFETIME_BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800];

/** HTTP latency: the credential endpoint should answer in milliseconds; 10 s means something hangs. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type ByTransport = { transport: Transport };

/** The typed handle on every icegate metric; one per process, created by the composition root. */
export interface IcegateMetrics {
  /** The registry `/metrics` serves: `await registry.metrics()` with `registry.contentType`. */
  readonly registry: Registry;
  /** Allocations alive now, by client transport. */
  readonly allocationsActive: LabelledGauge<ByTransport>;
  /** Allocate requests by final result; `result="ok"` is the allocation creation rate. */
  readonly allocateRequests: LabelledCounter<{ transport: Transport; result: AllocateResult }>;
  /** Allocations that ended, by reason. */
  readonly allocationsEnded: LabelledCounter<{ transport: Transport; reason: AllocationEndReason }>;
  /** Seconds from Allocate success to the end of the allocation. */
  readonly allocationLifetime: LabelledHistogram<ByTransport>;
  /** Relayed payload bytes; bump through `relay` in batches, not per packet. */
  readonly relayedBytes: LabelledCounter<{ transport: Transport; direction: Direction }>;
  /** Relayed datagrams; bump through `relay` in batches, not per packet. */
  readonly relayedPackets: LabelledCounter<{ transport: Transport; direction: Direction }>;
  /** Batched access to relayedBytes and relayedPackets. */
  readonly relay: RelayCounters;
  /** Permissions installed now, over all allocations (RFC 8656 section 9). */
  readonly permissionsActive: PlainGauge;
  /** Channel bindings alive now, over all allocations (RFC 8656 section 12). */
  readonly channelsActive: PlainGauge;
  /** TURN requests refused for authentication, by reason. */
  readonly authFailures: LabelledCounter<{ reason: AuthFailureReason }>;
  /** Peer addresses refused by the peer filter (CreatePermission, ChannelBind, Send), by reason. */
  readonly peerDenials: LabelledCounter<{ reason: PeerDenialReason }>;
  /** Allocate requests refused by the tenant's concurrent allocation quota (486). */
  readonly quotaRefusals: LabelledCounter<ByTransport>;
  /** Credential requests by API and outcome. */
  readonly credentialRequests: LabelledCounter<{ api: CredentialApi; outcome: CredentialOutcome }>;
  /** HTTP request latency by route template, method and status class. */
  readonly httpRequestDuration: LabelledHistogram<{
    route: string;
    method: HttpMethod;
    status_class: StatusClass;
  }>;
  /** Entitlement cache lookups by result. */
  readonly entitlementCacheLookups: LabelledCounter<{ result: CacheResult }>;
  /** Entitlement store failures by backend and operation. */
  readonly storeErrors: LabelledCounter<{ backend: StoreBackend; operation: StoreOperation }>;
  /** Redis failures by operation. */
  readonly redisErrors: LabelledCounter<{ operation: RedisOperation }>;
  /** 1 while this process drains after SIGTERM, else 0. */
  readonly draining: PlainGauge;
  /** When the running drain force-closes what is left (Unix seconds); 0 when not draining. */
  readonly drainDeadline: PlainGauge;
  /** Relay ports held now, by family (sampled every few seconds). */
  readonly relayPortsInUse: LabelledGauge<{ family: AddressFamily }>;
  /** Ports in the relay range, by family; 0 for a family without a relay address. */
  readonly relayPortRange: LabelledGauge<{ family: AddressFamily }>;
  /** notAfter of the TLS certificate that expires first (Unix seconds); 0 without TLS. */
  readonly tlsCertificateNotAfter: PlainGauge;
  /** Native data threads clients are steered to now (ThreadScaler); 0 on the JS data path. */
  readonly nativeDataThreads: PlainGauge;
  /** Peer datagrams the kernel dropped at a full relay socket receive buffer, by data plane (issue 16). */
  readonly relayReceiveBufferDrops: LabelledCounter<{ plane: RelayPlaneName }>;
}

/** The data planes that own relay sockets: the JS path and the native one (issue 9). */
export const RELAY_PLANES = ['js', 'native'] as const;
export type RelayPlaneName = (typeof RELAY_PLANES)[number];

/** Options of createMetrics. */
export interface MetricsOptions {
  /** Collect prom-client's process_ and nodejs_ metrics (default true). */
  defaultMetrics?: boolean;
  /** Version reported by icegate_build_info (default 'unknown'). */
  version?: string;
}

/**
 * How often the event-loop delay monitor behind prom-client's nodejs_eventloop_lag_* figures
 * samples, in ms. Each sample wakes the process: prom-client's 10 ms default costs an idle relay
 * about 9 ms of CPU a second and 50 ms about 1.5 ms (measured with /proc on these machines, where
 * a wake-up costs some 70 µs); 200 ms costs about 0.4 ms. A stall of 200 ms or more is always
 * caught, a shorter one with probability length / 200 ms, and sustained lag (a loop that is
 * behind) at any interval. The min/mean/percentile gauges include the interval itself (Node
 * reports the time between samples), which the Grafana panel subtracts.
 */
export const EVENT_LOOP_SAMPLE_MS = 200;

/** Creates a fresh registry holding every icegate metric, each closed-label series pre-created at 0. */
export function createMetrics(options: MetricsOptions = {}): IcegateMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

  const byTransport = { transport: TRANSPORTS };
  const relayLabels = { transport: TRANSPORTS, direction: DIRECTIONS };
  const relayedBytes = closedCounter({
    registry,
    name: METRIC_NAMES.relayedBytes,
    help: 'Payload bytes relayed between clients and peers.',
    labels: relayLabels,
  });
  const relayedPackets = closedCounter({
    registry,
    name: METRIC_NAMES.relayedPackets,
    help: 'Datagrams relayed between clients and peers.',
    labels: relayLabels,
  });

  const buildInfo = new Gauge({
    name: METRIC_NAMES.buildInfo,
    help: 'Always 1; labels carry the icegate version and the Node.js version.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  buildInfo.set({ version: options.version ?? 'unknown', node_version: process.versions.node }, 1);

  return {
    registry,
    allocationsActive: closedGauge({
      registry,
      name: METRIC_NAMES.allocationsActive,
      help: 'TURN allocations alive now, by client transport.',
      labels: byTransport,
    }),
    allocateRequests: closedCounter({
      registry,
      name: METRIC_NAMES.allocateRequests,
      help: 'Allocate requests by final result (result="ok" counts allocations created).',
      labels: { transport: TRANSPORTS, result: ALLOCATE_RESULTS },
    }),
    allocationsEnded: closedCounter({
      registry,
      name: METRIC_NAMES.allocationsEnded,
      help: 'TURN allocations that ended, by reason.',
      labels: { transport: TRANSPORTS, reason: ALLOCATION_END_REASONS },
    }),
    allocationLifetime: labelledHistogram<ByTransport>({
      registry,
      name: METRIC_NAMES.allocationLifetime,
      help: 'Seconds from a successful Allocate to the end of the allocation.',
      labelNames: ['transport'],
      buckets: ALLOCATION_LIFETIME_BUCKETS,
      preCreate: byTransport,
    }),
    relayedBytes,
    relayedPackets,
    relay: new RelayCounters(relayedBytes, relayedPackets, TRANSPORTS, DIRECTIONS),
    permissionsActive: plainGauge({
      registry,
      name: METRIC_NAMES.permissionsActive,
      help: 'TURN permissions installed now, over all allocations.',
    }),
    channelsActive: plainGauge({
      registry,
      name: METRIC_NAMES.channelsActive,
      help: 'TURN channel bindings alive now, over all allocations.',
    }),
    authFailures: closedCounter({
      registry,
      name: METRIC_NAMES.authFailures,
      help: 'TURN requests refused for authentication, by reason.',
      labels: { reason: AUTH_FAILURE_REASONS },
    }),
    peerDenials: closedCounter({
      registry,
      name: METRIC_NAMES.peerDenials,
      help: 'Peer addresses refused by the peer filter, by reason.',
      labels: { reason: PEER_DENIAL_REASONS },
    }),
    quotaRefusals: closedCounter({
      registry,
      name: METRIC_NAMES.quotaRefusals,
      help: "Allocate requests refused because the tenant's concurrent allocation quota was used up.",
      labels: byTransport,
    }),
    credentialRequests: closedCounter({
      registry,
      name: METRIC_NAMES.credentialRequests,
      help: 'Credential requests by API and outcome (ok or the refusal code).',
      labels: { api: CREDENTIAL_APIS, outcome: CREDENTIAL_OUTCOMES },
    }),
    httpRequestDuration: labelledHistogram({
      registry,
      name: METRIC_NAMES.httpRequestDuration,
      help: 'HTTP request duration in seconds, by route template, method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: HTTP_DURATION_BUCKETS,
    }),
    entitlementCacheLookups: closedCounter({
      registry,
      name: METRIC_NAMES.entitlementCacheLookups,
      help: 'Entitlement cache lookups by result.',
      labels: { result: CACHE_RESULTS },
    }),
    storeErrors: closedCounter({
      registry,
      name: METRIC_NAMES.storeErrors,
      help: 'Entitlement store failures by backend and operation.',
      labels: { backend: STORE_BACKENDS, operation: STORE_OPERATIONS },
    }),
    redisErrors: closedCounter({
      registry,
      name: METRIC_NAMES.redisErrors,
      help: 'Redis failures by operation.',
      labels: { operation: REDIS_OPERATIONS },
    }),
    draining: plainGauge({
      registry,
      name: METRIC_NAMES.draining,
      help: '1 while this process drains after SIGTERM, else 0.',
    }),
    drainDeadline: plainGauge({
      registry,
      name: METRIC_NAMES.drainDeadline,
      help: 'When the running drain closes the allocations left (Unix seconds); 0 when not draining.',
    }),
    relayPortsInUse: closedGauge({
      registry,
      name: METRIC_NAMES.relayPortsInUse,
      help: 'Relay ports held now (JS and native data path), by address family.',
      labels: { family: ADDRESS_FAMILIES },
    }),
    relayPortRange: closedGauge({
      registry,
      name: METRIC_NAMES.relayPortRange,
      help: 'Ports in the relay port range (TURN_MIN_PORT..TURN_MAX_PORT), by address family; 0 without a relay address of that family.',
      labels: { family: ADDRESS_FAMILIES },
    }),
    tlsCertificateNotAfter: plainGauge({
      registry,
      name: METRIC_NAMES.tlsCertificateNotAfter,
      help: 'notAfter of the TURN TLS certificate that expires first, Unix seconds; 0 when no TLS listener is configured.',
    }),
    nativeDataThreads: plainGauge({
      registry,
      name: METRIC_NAMES.nativeDataThreads,
      help: 'Native data threads that UDP clients are steered to now (grows with the load); 0 on the JS data path.',
    }),
    relayReceiveBufferDrops: closedCounter({
      registry,
      name: METRIC_NAMES.relayReceiveBufferDrops,
      help: 'Peer datagrams dropped by the kernel at a full relay socket receive buffer (TURN_RELAY_SOCKET_BUFFER), by data plane.',
      labels: { plane: RELAY_PLANES },
    }),
  };
}
