// The bookkeeping of one allocation's start and end touches several metrics that must stay
// consistent (the active gauge goes up exactly once and down exactly once); these two functions
// are the only places that do it.
import type { AllocationEndReason, Transport } from './label-sets.js';
import type { IcegateMetrics } from './metrics.js';

/** Records a successful Allocate (RFC 8656 section 7.2): one more active allocation. */
export function recordAllocationCreated(metrics: IcegateMetrics, transport: Transport): void {
  metrics.allocateRequests.inc({ transport, result: 'ok' });
  metrics.allocationsActive.inc({ transport });
}

/**
 * Records the end of an allocation: lowers the active gauge, counts the reason and observes the
 * lifetime. Its last traffic delta goes through `metrics.relay.addTraffic` as usual.
 */
export function recordAllocationEnded(
  metrics: IcegateMetrics,
  transport: Transport,
  reason: AllocationEndReason,
  lifetimeSeconds: number,
): void {
  metrics.allocationsEnded.inc({ transport, reason });
  metrics.allocationsActive.dec({ transport });
  metrics.allocationLifetime.observe({ transport }, Math.max(0, lifetimeSeconds));
}
