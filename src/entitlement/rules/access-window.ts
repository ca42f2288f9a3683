// Access windows of support periods: a period grants access over [serviceFrom, end], inclusive
// JST dates (DOMAIN.md "Time"). Shared by the order rules and the entitlement.
import type { JstDate, SupportPeriod } from '../types.js';
import { compareJstDates } from './jst-date.js';

/** True when the period's access window [serviceFrom, end] contains the date. */
export function windowCovers(period: SupportPeriod, date: JstDate): boolean {
  return compareJstDates(period.serviceFrom, date) <= 0 && compareJstDates(date, period.end) <= 0;
}

/** The periods that are not `additional`: the ones that carry the base support. */
export function basePeriods(periods: readonly SupportPeriod[]): SupportPeriod[] {
  return periods.filter((p) => p.kind !== 'additional');
}

/**
 * The latest base period (largest `end`); on a tie the one accepted later. This is the
 * "latest period" that renewals and re-continuations are measured against.
 */
export function latestBasePeriod(periods: readonly SupportPeriod[]): SupportPeriod | undefined {
  let latest: SupportPeriod | undefined;
  for (const p of basePeriods(periods)) {
    if (latest === undefined || compareJstDates(p.end, latest.end) >= 0) latest = p;
  }
  return latest;
}

/**
 * The base period whose access window covers the date. Without certificates windows never
 * overlap; when certificate dates make them overlap, the one that began last governs (ties:
 * later end, then the one accepted later), as the most recent contract for that day.
 */
export function coveringBasePeriod(
  periods: readonly SupportPeriod[],
  date: JstDate,
): SupportPeriod | undefined {
  let chosen: SupportPeriod | undefined;
  for (const p of basePeriods(periods)) {
    if (!windowCovers(p, date)) continue;
    if (chosen === undefined) {
      chosen = p;
      continue;
    }
    const byStart = compareJstDates(p.serviceFrom, chosen.serviceFrom);
    if (byStart > 0 || (byStart === 0 && compareJstDates(p.end, chosen.end) >= 0)) chosen = p;
  }
  return chosen;
}
