// Wires the reissue-request queue (issue 21) for a node: over the configured store, with the
// company closing days of SUPPORT_CLOSING_DAYS, and its two gauges on the metrics registry.

import { type ClosingDaySpec, parseClosingDays } from '../entitlement/rules/index.js';
import { type EntitlementStore, reissueRequestsOf } from '../entitlement/store/index.js';
import { type LicenseService, ReissueQueue } from '../licensing/index.js';
import type { Logger } from '../log/logger.js';
import type { Registry } from '../metrics/prom-client.js';
import { registerReissueRequestGauges } from '../metrics/reissue-request-gauges.js';

/** The closing days of SUPPORT_CLOSING_DAYS (unset: the rules' default); the message names the variable. */
export function closingDaysSetting(text: string | undefined): readonly ClosingDaySpec[] | undefined {
  if (text === undefined) return undefined;
  try {
    return parseClosingDays(text);
  } catch (err) {
    throw new Error(`SUPPORT_CLOSING_DAYS: ${(err as Error).message}`);
  }
}

/** The node's queue, with its gauges registered on `registry`. */
export function wireReissueQueue(options: {
  store: EntitlementStore;
  licenses: Pick<LicenseService, 'requireReissueAllowed'>;
  closingDays: string | undefined;
  registry: Registry;
  logger: Logger;
  clock?: () => number;
}): ReissueQueue {
  const closingDays = closingDaysSetting(options.closingDays);
  const queue = new ReissueQueue(
    reissueRequestsOf(options.store),
    options.licenses,
    closingDays === undefined ? {} : { closingDays },
  );
  const clock = options.clock ?? Date.now;
  const log = options.logger.child({ component: 'reissue-requests' });
  registerReissueRequestGauges(options.registry, () => queue.counts(new Date(clock())), {
    clock,
    onError: (err) => log.warn('reissue request counts unavailable', { error: (err as Error).message }),
  });
  return queue;
}
