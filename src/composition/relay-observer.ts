// Turns the TURN core's events into metrics (counted as traffic flows, not at session end),
// log lines (one at allocation start, one at its end with tenant, transport, duration, bytes;
// refusals summed per tenant and reason; authentication failures and peer denials sampled) and
// per-tenant usage. Every mapping from the core's reason codes to metric labels is here.
import type { Logger } from '../log/logger.js';
import { RefusalDigest } from '../log/refusal-digest.js';
import { SampledLog } from '../log/sampled-log.js';
import { recordAllocationCreated, recordAllocationEnded } from '../metrics/allocation-lifecycle.js';
import type {
  AllocateResult,
  AuthFailureReason as MetricAuthReason,
  AllocationEndReason as MetricEndReason,
  PeerDenialReason,
  Transport,
} from '../metrics/label-sets.js';
import { PEER_DENIAL_REASONS } from '../metrics/label-sets.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { seriesByKey } from '../metrics/typed-metric.js';
import { Method } from '../stun/index.js';
import type { AllocationEndReason, AllocationView, TurnEvents } from '../turn/index.js';
import { FLEET_QUOTA_REASON } from './relay-policy.js';

/** Receives relayed bytes and allocation time per tenant (usage accounting, issue 6). */
export interface UsageSink {
  addTraffic(tenant: string, bytes: number, atMs: number): void;
  addAllocationTime(tenant: string, seconds: number, atMs: number): void;
}

const ALLOCATE_RESULT_BY_CODE: Record<number, AllocateResult> = {
  200: 'ok',
  400: 'bad_request',
  401: 'auth_failed',
  403: 'not_entitled',
  420: 'bad_request',
  437: 'allocation_mismatch',
  438: 'challenged',
  440: 'address_family_not_supported',
  441: 'auth_failed',
  442: 'unsupported_transport',
  486: 'quota_exceeded',
  500: 'internal_error',
  508: 'insufficient_capacity',
};

function address(a: { address: string; port: number; family: string }): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** The result label of an answered Allocate (`withIntegrity`: it carried MESSAGE-INTEGRITY). */
export function allocateResult(code: number, withIntegrity: boolean, draining: boolean): AllocateResult {
  // RFC 8489 section 9.2.4: a request without MESSAGE-INTEGRITY is challenged, not failed.
  if (code === 401 && !withIntegrity) return 'challenged';
  if (code === 508 && draining) return 'draining';
  return ALLOCATE_RESULT_BY_CODE[code] ?? 'bad_request';
}

/** Why enforcement or an operator closed a tenant's allocations (the core says only 'policy'). */
export type PolicyEndReason = 'entitlement_revoked' | 'license_revoked' | 'admin_closed';

/** Options of the observer's log lines. */
export interface RelayObserverLogOptions {
  /** Interval of the refusal summary lines, ms (default 30 s). */
  refusalIntervalMs?: number;
  /** Sampled lines (auth failures, peer denials) per reason: burst, then one per interval (default 5, 10 s). */
  sampleBurst?: number;
  sampleIntervalMs?: number;
}

/** Observes one TURN core; `policyReason` lets enforcement say why it closed a tenant's allocations. */
export class RelayObserver {
  readonly #policyReasons = new Map<string, MetricEndReason>();
  /** Up to when each live allocation's time has gone to the usage sink. */
  readonly #accruedUntil = new WeakMap<AllocationView, number>();
  readonly #refusals: RefusalDigest;
  readonly #sampled: SampledLog;
  #draining = false;

  constructor(
    private readonly metrics: IcegateMetrics,
    private readonly logger: Logger,
    private readonly usage?: UsageSink,
    private readonly clock: () => number = Date.now,
    logOptions: RelayObserverLogOptions = {},
  ) {
    const log = logger.child({ component: 'relay' });
    this.#refusals = new RefusalDigest({
      logger: log,
      message: 'TURN requests refused',
      clock,
      ...(logOptions.refusalIntervalMs === undefined ? {} : { intervalMs: logOptions.refusalIntervalMs }),
    });
    this.#sampled = new SampledLog({
      logger: log,
      clock,
      ...(logOptions.sampleBurst === undefined ? {} : { burst: logOptions.sampleBurst }),
      ...(logOptions.sampleIntervalMs === undefined ? {} : { intervalMs: logOptions.sampleIntervalMs }),
    });
  }

  /** The next policy-closed allocations of `tenant` end for `reason` (until cleared). */
  setPolicyReason(tenant: string, reason: PolicyEndReason): void {
    this.#policyReasons.set(tenant, reason);
  }

  /** Writes the pending refusal summary and stops its timer. */
  close(): void {
    this.#refusals.close();
  }

  clearPolicyReason(tenant: string): void {
    this.#policyReasons.delete(tenant);
  }

  /** From now on, shutdown closes count as drain_deadline. */
  markDraining(): void {
    this.#draining = true;
  }

  // Allocation time accrues while the allocation lives (at every sample and at its end), so a
  // call lasting hours shows in today's usage before it ends; each interval is counted once.
  #accrueTime(allocation: AllocationView, untilMs: number): void {
    if (this.usage === undefined) return;
    const from = this.#accruedUntil.get(allocation) ?? allocation.createdAt;
    if (untilMs <= from) return;
    this.#accruedUntil.set(allocation, untilMs);
    this.usage.addAllocationTime(allocation.tenant, (untilMs - from) / 1000, untilMs);
  }

  #endReason(allocation: AllocationView, reason: AllocationEndReason): MetricEndReason {
    switch (reason) {
      case 'expired':
        return 'expired';
      case 'refresh-0':
        return 'deleted';
      case 'transport-closed':
        return 'connection_closed';
      case 'relay-error':
        return 'relay_error';
      case 'shutdown':
        return this.#draining ? 'drain_deadline' : 'shutdown';
      case 'policy':
        return this.#policyReasons.get(allocation.tenant) ?? 'entitlement_revoked';
    }
  }

  /** The TurnEvents to pass to the core. */
  events(): TurnEvents {
    const m = this.metrics;
    const log = this.logger.child({ component: 'relay' });
    // Every allocation's 401 challenge is counted in requestAnswered: a bound series per result, made once.
    const answered = seriesByKey((transport: Transport) =>
      seriesByKey((result: AllocateResult) => m.allocateRequests.bound({ transport, result })),
    );
    return {
      allocationCreated: (a) => {
        recordAllocationCreated(m, a.tuple.transport);
        log.info('allocation started', {
          allocation: a.id,
          tenant: a.tenant,
          transport: a.tuple.transport,
          relayed: address(a.relay),
          expiresInSeconds: Math.round((a.expiresAt - a.createdAt) / 1000),
        });
      },
      allocationDeleted: (a, reason, durationMs) => {
        const metricReason = this.#endReason(a, reason);
        recordAllocationEnded(m, a.tuple.transport, metricReason, durationMs / 1000);
        this.#accrueTime(a, a.createdAt + durationMs);
        log.info('allocation ended', {
          allocation: a.id,
          tenant: a.tenant,
          transport: a.tuple.transport,
          reason: metricReason,
          durationSeconds: Math.round(durationMs / 100) / 10,
          bytesToPeer: a.traffic.toPeerBytes,
          bytesToClient: a.traffic.toClientBytes,
          packetsToPeer: a.traffic.toPeerPackets,
          packetsToClient: a.traffic.toClientPackets,
        });
      },
      trafficRelayed: (a, delta) => {
        m.relay.addTraffic(a.tuple.transport, delta);
        const bytes = delta.toPeerBytes + delta.toClientBytes;
        if (bytes > 0) this.usage?.addTraffic(a.tenant, bytes, this.clock());
      },
      permissionDenied: (peer, reason, a) => {
        const label = (PEER_DENIAL_REASONS as readonly string[]).includes(reason)
          ? (reason as PeerDenialReason)
          : 'configured_deny';
        m.peerDenials.inc({ reason: label });
        this.#sampled.warn(`peer:${label}`, 'peer address denied', {
          reason: label,
          tenant: a.tenant,
          source: address(a.tuple.client),
          transport: a.tuple.transport,
          peer: address(peer),
        });
      },
      authFailed: (reason, tuple) => {
        const label = reason.replaceAll('-', '_') as MetricAuthReason;
        m.authFailures.inc({ reason: label });
        this.#sampled.warn(`auth:${label}`, 'TURN authentication failed', {
          reason: label,
          source: address(tuple.client),
          transport: tuple.transport,
        });
      },
      authorizeDenied: (tenant, reason, method) => {
        // The fleet-wide quota refuses through authorize too; it is no authentication failure
        // (its 486 is counted by requestAnswered).
        if (reason === FLEET_QUOTA_REASON) {
          this.#refusals.record(tenant, 'fleet_quota_exceeded', { method });
          return;
        }
        m.authFailures.inc({ reason: 'not_entitled' });
        this.#refusals.record(tenant, reason, { method });
      },
      quotaRefused: (tenant) => {
        this.#refusals.record(tenant, 'quota_exceeded', { method: 'allocate' });
      },
      requestAnswered: (method, code, transport, withIntegrity) => {
        if (method !== Method.Allocate || code === 200) return; // 200s are counted by allocationCreated
        if (code === 486) m.quotaRefusals.inc({ transport });
        answered(transport)(allocateResult(code, withIntegrity, this.#draining)).inc();
      },
    };
  }

  /** Refreshes the permission and channel gauges from the live allocations; accrues their time. */
  sample(allocations: readonly AllocationView[]): void {
    let permissions = 0;
    let channels = 0;
    const now = this.clock();
    for (const a of allocations) {
      permissions += a.permissionCount;
      channels += a.channelCount;
      this.#accrueTime(a, now);
    }
    this.metrics.permissionsActive.set(permissions);
    this.metrics.channelsActive.set(channels);
  }
}
