// The bookkeeping of one allocation's start and end touches several metrics that must stay
// consistent (the active gauge goes up exactly once and down exactly once); these two functions
// are the only places that do it.
import type { AllocationEndReason, Transport } from './label-sets.js';
import type { IcegateMetrics } from './metrics.js';
import { seriesByKey } from './typed-metric.js';

/** The series every allocation's start and end move, bound once per metrics object and transport. */
interface LifecycleSeries {
  readonly created: { inc(): void };
  readonly active: { inc(): void; dec(): void };
}

const boundSeries = new WeakMap<IcegateMetrics, (transport: Transport) => LifecycleSeries>();

function seriesOf(metrics: IcegateMetrics, transport: Transport): LifecycleSeries {
  let byTransport = boundSeries.get(metrics);
  if (byTransport === undefined) {
    byTransport = seriesByKey((t) => ({
      created: metrics.allocateRequests.bound({ transport: t, result: 'ok' }),
      active: metrics.allocationsActive.bound({ transport: t }),
    }));
    boundSeries.set(metrics, byTransport);
  }
  return byTransport(transport);
}

/** Records a successful Allocate (RFC 8656 section 7.2): one more active allocation. */
export function recordAllocationCreated(metrics: IcegateMetrics, transport: Transport): void {
  const series = seriesOf(metrics, transport);
  series.created.inc();
  series.active.inc();
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
  seriesOf(metrics, transport).active.dec();
  metrics.allocationLifetime.observe({ transport }, Math.max(0, lifetimeSeconds));
}
