// The bookkeeping of one allocation's start and end touches several metrics that must stay
// consistent (the active gauge goes up exactly once and down exactly once); these two functions
// are the only places that do it.
import type { AllocationEndReason, Transport } from './label-sets.js';
import type { IcegateMetrics } from './metrics.js';
import type { RelayTally } from './relay-tally.js';

/** Records a successful Allocate (RFC 8656 section 7.2): one more active allocation. */
export function recordAllocationCreated(metrics: IcegateMetrics, transport: Transport): void {
  metrics.allocateRequests.inc({ transport, result: 'ok' });
  metrics.allocationsActive.inc({ transport });
}

/**
 * Records the end of an allocation: flushes its remaining traffic, lowers the active gauge and
 * observes its lifetime in seconds.
 */
export function recordAllocationEnded(
  metrics: IcegateMetrics,
  tally: RelayTally,
  reason: AllocationEndReason,
  lifetimeSeconds: number,
): void {
  metrics.relay.flush(tally);
  const transport = tally.transport;
  metrics.allocationsEnded.inc({ transport, reason });
  metrics.allocationsActive.dec({ transport });
  metrics.allocationLifetime.observe({ transport }, Math.max(0, lifetimeSeconds));
}
