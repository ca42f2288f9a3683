// Turns the TURN core's events into metrics (counted as traffic flows, not at session end),
// log lines (one at allocation start, one at its end with tenant, transport, duration, bytes)
// and per-tenant usage. Every mapping from the core's reason codes to metric labels is here.
import type { Logger } from '../log/logger.js';
import { recordAllocationCreated, recordAllocationEnded } from '../metrics/allocation-lifecycle.js';
import type {
  AllocateResult,
  AuthFailureReason as MetricAuthReason,
  AllocationEndReason as MetricEndReason,
  PeerDenialReason,
} from '../metrics/label-sets.js';
import { PEER_DENIAL_REASONS } from '../metrics/label-sets.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
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
  438: 'auth_failed',
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

/** Observes one TURN core; `policyReason` lets enforcement say why it closed a tenant's allocations. */
export class RelayObserver {
  readonly #policyReasons = new Map<string, MetricEndReason>();
  /** Up to when each live allocation's time has gone to the usage sink. */
  readonly #accruedUntil = new WeakMap<AllocationView, number>();
  #draining = false;

  constructor(
    private readonly metrics: IcegateMetrics,
    private readonly logger: Logger,
    private readonly usage?: UsageSink,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The next policy-closed allocations of `tenant` end for `reason` (until cleared). */
  setPolicyReason(tenant: string, reason: 'entitlement_revoked' | 'license_revoked'): void {
    this.#policyReasons.set(tenant, reason);
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
      permissionDenied: (_peer, reason) => {
        const label = (PEER_DENIAL_REASONS as readonly string[]).includes(reason)
          ? (reason as PeerDenialReason)
          : 'configured_deny';
        m.peerDenials.inc({ reason: label });
      },
      authFailed: (reason) => {
        m.authFailures.inc({ reason: reason.replaceAll('-', '_') as MetricAuthReason });
      },
      authorizeDenied: (tenant, reason, method) => {
        // The fleet-wide quota refuses through authorize too; it is no authentication failure
        // (its 486 is counted by requestAnswered).
        if (reason === FLEET_QUOTA_REASON) {
          log.info('allocation quota reached across the fleet', { tenant });
          return;
        }
        m.authFailures.inc({ reason: 'not_entitled' });
        log.info('TURN request refused: tenant not entitled', { tenant, reason, method });
      },
      quotaRefused: (tenant, load) => {
        log.info('allocation quota reached', { tenant, load });
      },
      requestAnswered: (method, code, transport) => {
        if (method !== Method.Allocate || code === 200) return; // 200s are counted by allocationCreated
        if (code === 486) m.quotaRefusals.inc({ transport });
        const result =
          code === 508 && this.#draining ? 'draining' : (ALLOCATE_RESULT_BY_CODE[code] ?? 'bad_request');
        m.allocateRequests.inc({ transport, result });
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
