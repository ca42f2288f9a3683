// Gauges of the reissue-request queue (issue 21): requests pending and overdue, read from the
// store at scrape time but at most once per refresh interval (default 15 s), so a fleet of nodes
// scraped every few seconds costs PostgreSQL one indexed count per node per interval. The numbers
// are the whole queue's, the same on every node: aggregate them with max(), not sum(). No tenant
// label (DESIGN.md). A failed read keeps the last values (the store's own health shows the outage).
import { Gauge, type Registry } from './prom-client.js';

/** The names, per DESIGN.md (`icegate_` prefix, no tenant label). */
export const REISSUE_REQUEST_METRICS = {
  pending: 'icegate_reissue_requests_pending',
  overdue: 'icegate_reissue_requests_overdue',
} as const;

/** Where the counts come from (ReissueQueue.counts at the clock's instant). */
export type OpenCountSource = () => Promise<{ pending: number; overdue: number }>;

/** Options of the gauges. */
export interface ReissueRequestGaugeOptions {
  /** Minimum time between two store reads; default 15 s. */
  refreshMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Told a failed read (the process logs it). */
  onError?: (err: unknown) => void;
}

/** Registers both gauges on `registry`; their values come from `source` when scraped. */
export function registerReissueRequestGauges(
  registry: Registry,
  source: OpenCountSource,
  options: ReissueRequestGaugeOptions = {},
): void {
  const refreshMs = options.refreshMs ?? 15_000;
  const clock = options.clock ?? Date.now;
  let values = { pending: 0, overdue: 0 };
  let readAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | null = null;

  const refresh = (): Promise<void> => {
    if (clock() - readAt < refreshMs) return Promise.resolve();
    inFlight ??= source()
      .then(
        (counts) => {
          values = counts;
        },
        (err: unknown) => options.onError?.(err),
      )
      .finally(() => {
        readAt = clock();
        inFlight = null;
      });
    return inFlight;
  };

  new Gauge({
    name: REISSUE_REQUEST_METRICS.pending,
    help: 'Reissue requests from the form not yet fulfilled nor cancelled, still within their due date (JST); the whole queue, same on every node',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(values.pending);
    },
  });
  new Gauge({
    name: REISSUE_REQUEST_METRICS.overdue,
    help: 'Reissue requests from the form still pending after the end of their due date (JST): the terms promise was missed; the whole queue, same on every node',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(values.overdue);
    },
  });
}
