// The entitlement of a tenant at an instant (DOMAIN.md "Licenses", "Grace", CLI contract of
// `icegate entitlement`): state, licenses in force, and the last day of uninterrupted access.
//
// Choices where DOMAIN.md is silent:
// - Grace reports `active: true`: the tenant still gets credentials during grace, and `active`
//   answers "does the gate let this tenant in". Licenses in grace are those in force on the
//   last day of the period that ended; `until` is the last grace day, extended through any
//   period that begins right after it.
// - While `active`, `until` is the last day of support itself (back-to-back periods merged);
//   grace days are not added to it.
// - Grace takes precedence over `not_started` when a later period is already booked.
import type { Entitlement, JstDate, OrderHistory, SupportPeriod, Timeline } from '../types.js';
import { basePeriods, coveringBasePeriod, windowCovers } from './access-window.js';
import { InvalidDateError, RuleOptionError } from './errors.js';
import { parseInstant } from './instant.js';
import { addDays, compareJstDates, jstDateOf, startOfJstDay } from './jst-date.js';
import { validateOrderHistory } from './order-history.js';
import { timelineOfValidHistory } from './timeline.js';

/** Options of the entitlement rules. */
export interface EntitlementOptions {
  /** Days after a period's end during which the tenant still gets credentials (default 0). */
  graceDays?: number;
}

function graceDaysOf(opts: EntitlementOptions | undefined): number {
  const graceDays = opts?.graceDays ?? 0;
  if (!Number.isInteger(graceDays) || graceDays < 0) {
    throw new RuleOptionError(`grace days must be a non-negative integer, got ${String(graceDays)}`);
  }
  return graceDays;
}

function checkInstant(at: Date): void {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new InvalidDateError('the instant to evaluate is not a valid date');
  }
}

/** The timeline as known at `at`: only orders received at or before it are applied. */
export function timelineKnownAt(history: OrderHistory, at: Date): Timeline {
  checkInstant(at);
  const valid = validateOrderHistory(history);
  const known = valid.orders.filter((o) => parseInstant(o.receivedAt).getTime() <= at.getTime());
  return timelineOfValidHistory({ tenant: valid.tenant, orders: known });
}

/** Licenses in force on a JST date: the covering base order's plus every covering additional. */
export function licensesOn(periods: readonly SupportPeriod[], date: JstDate): number {
  const base = coveringBasePeriod(periods, date);
  if (base === undefined) return 0;
  let total = base.licenses;
  for (const p of periods) {
    if (p.kind === 'additional' && windowCovers(p, date)) total += p.licenses;
  }
  return total;
}

interface DayWindow {
  from: JstDate;
  to: JstDate;
}

/** The last day of the run of windows that covers `date` without a gap, or null if none does. */
function lastDayOfRun(windows: readonly DayWindow[], date: JstDate): JstDate | null {
  const sorted = [...windows].sort((a, b) => compareJstDates(a.from, b.from));
  let last = addDays(date, -1);
  for (const w of sorted) {
    if (compareJstDates(w.from, addDays(last, 1)) > 0) break;
    if (compareJstDates(w.to, last) > 0) last = w.to;
  }
  return compareJstDates(last, date) >= 0 ? last : null;
}

function accessWindows(base: readonly SupportPeriod[]): DayWindow[] {
  return base.map((p) => ({ from: p.serviceFrom, to: p.end }));
}

/**
 * The entitlement of the history's tenant at instant `at`, as known then (orders received
 * after `at` are ignored). Throws OrderHistoryError for a malformed history.
 */
export function entitlementAt(history: OrderHistory, at: Date, opts?: EntitlementOptions): Entitlement {
  const graceDays = graceDaysOf(opts);
  const { tenant, periods } = timelineKnownAt(history, at);
  const inactive = (state: Entitlement['state']): Entitlement => ({
    tenant,
    active: false,
    state,
    licenses: 0,
    until: null,
  });
  const base = basePeriods(periods);
  if (base.length === 0) return inactive('none');
  const today = jstDateOf(at);

  if (coveringBasePeriod(base, today) !== undefined) {
    return {
      tenant,
      active: true,
      state: 'active',
      licenses: licensesOn(periods, today),
      until: lastDayOfRun(accessWindows(base), today),
    };
  }

  const lastEnded = base
    .filter((p) => compareJstDates(p.end, today) < 0)
    .sort((a, b) => compareJstDates(b.end, a.end))[0];
  if (lastEnded !== undefined && graceDays > 0) {
    const lastGraceDay = addDays(lastEnded.end, graceDays);
    if (compareJstDates(today, lastGraceDay) <= 0) {
      const grace = { from: addDays(lastEnded.end, 1), to: lastGraceDay };
      return {
        tenant,
        active: true,
        state: 'grace',
        licenses: licensesOn(periods, lastEnded.end),
        until: lastDayOfRun([...accessWindows(base), grace], today),
      };
    }
  }

  if (base.some((p) => compareJstDates(p.serviceFrom, today) > 0)) return inactive('not_started');
  return inactive('expired');
}

/**
 * The first instant after `at` at which entitlementAt's answer may differ: an order becoming
 * known, a period's access starting, the day after a period's end, or the day after its grace.
 * Null when nothing known can change it. A cache of entitlementAt(history, at) stays valid
 * until this instant (exclusive), as long as the history itself does not change.
 */
export function nextChangeAt(history: OrderHistory, at: Date, opts?: EntitlementOptions): Date | null {
  const graceDays = graceDaysOf(opts);
  const { periods } = timelineKnownAt(history, at);
  const now = at.getTime();
  const candidates: number[] = [];
  // timelineKnownAt has validated every receipt instant.
  for (const order of history.orders) {
    candidates.push(parseInstant(order.receivedAt).getTime());
  }
  for (const p of periods) {
    candidates.push(startOfJstDay(p.serviceFrom).getTime(), startOfJstDay(addDays(p.end, 1)).getTime());
    if (p.kind !== 'additional' && graceDays > 0) {
      candidates.push(startOfJstDay(addDays(p.end, graceDays + 1)).getTime());
    }
  }
  let next = Number.POSITIVE_INFINITY;
  for (const t of candidates) {
    if (t > now && t < next) next = t;
  }
  return Number.isFinite(next) ? new Date(next) : null;
}
