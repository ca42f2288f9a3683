// The period each order kind creates, or why it is refused (DOMAIN.md "Order kinds and the
// period each one creates", seed section 3). Messages are for a support clerk: they name the
// dates involved and the order the customer should have placed.
import type { JstDate, Order, RejectionCode, SupportPeriod } from '../types.js';
import { coveringBasePeriod, latestBasePeriod } from './access-window.js';
import { addDays, compareJstDates, firstOfMonthRule, minJstDate, oneYearFrom } from './jst-date.js';

/** The dates an accepted order's period gets. */
export interface PeriodDates {
  serviceFrom: JstDate;
  start: JstDate;
  end: JstDate;
}

/** What applying one order yields: its period dates, or a rejection. */
export type OrderOutcome =
  | { accepted: true; dates: PeriodDates }
  | { accepted: false; code: RejectionCode; message: string };

const RECONTINUATION = 're-continuation (再継続)';

/**
 * The last receipt date on which a renewal is still accepted after a period ending on `end`:
 * one year counted the civil-code way from the day after `end` (seed 3(3)), so
 * 2025-11-30 -> 2026-11-30 and 2027-02-28 -> 2028-02-29.
 */
export function lastRenewalDate(end: JstDate): JstDate {
  return oneYearFrom(addDays(end, 1));
}

function reject(code: RejectionCode, message: string): OrderOutcome {
  return { accepted: false, code, message };
}

function accept(serviceFrom: JstDate, start: JstDate): OrderOutcome {
  return { accepted: true, dates: { serviceFrom, start, end: oneYearFrom(start) } };
}

function applyInitial(receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  const first = periods.find((p) => p.kind !== 'additional');
  if (first !== undefined) {
    return reject(
      'already_initialised',
      `initial order received ${receipt}, but the tenant already had an initial purchase (order ${first.order}, ` +
        `support from ${first.serviceFrom}); a later purchase must be a renewal or a ${RECONTINUATION} order`,
    );
  }
  // Seed 3(1), assumed for the first purchase too: access from the purchase date, the base
  // year from the first of the following month.
  return accept(receipt, firstOfMonthRule(receipt));
}

function applyRenewal(receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  const latest = latestBasePeriod(periods);
  if (latest === undefined) {
    return reject(
      'no_prior_support',
      `renewal received ${receipt}, but the tenant has no support period to renew; an initial order is required`,
    );
  }
  // Seed 3(2): ordered within the period, the new year follows on from its end.
  if (compareJstDates(receipt, latest.end) <= 0) {
    const start = addDays(latest.end, 1);
    return accept(start, start);
  }
  const deadline = lastRenewalDate(latest.end);
  if (compareJstDates(receipt, deadline) > 0) {
    return reject(
      'recontinuation_required',
      `renewal received ${receipt} is more than one year after support ended on ${latest.end} ` +
        `(renewals were accepted through ${deadline}); a ${RECONTINUATION} order is required`,
    );
  }
  // Seed 3(2), second sentence: ordered after the end, the year starts on the first-of-month
  // rule and there is no access in the gap.
  const start = firstOfMonthRule(receipt);
  return accept(start, start);
}

function applyRecontinuation(receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  const latest = latestBasePeriod(periods);
  if (latest === undefined) {
    return reject(
      'no_prior_support',
      `${RECONTINUATION} order received ${receipt}, but the tenant has never had a support period; ` +
        'an initial order is required',
    );
  }
  const deadline = lastRenewalDate(latest.end);
  if (compareJstDates(receipt, latest.end) <= 0) {
    return reject(
      'renewal_applies',
      `${RECONTINUATION} order received ${receipt}, while support runs through ${latest.end}; ` +
        'a renewal order applies',
    );
  }
  if (compareJstDates(receipt, deadline) <= 0) {
    return reject(
      'renewal_applies',
      `${RECONTINUATION} order received ${receipt} is within one year of the end of support on ` +
        `${latest.end} (renewals are accepted through ${deadline}); a renewal order applies`,
    );
  }
  // Seed 3(1): access from the purchase date, the base year from the first-of-month rule.
  return accept(receipt, firstOfMonthRule(receipt));
}

function applyAdditional(receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  const covering = coveringBasePeriod(periods, receipt);
  if (covering === undefined) {
    const context: string[] = [];
    const ended = periods
      .filter((p) => p.kind !== 'additional' && compareJstDates(p.end, receipt) < 0)
      .sort((a, b) => compareJstDates(b.end, a.end))[0];
    const upcoming = periods
      .filter((p) => p.kind !== 'additional' && compareJstDates(p.serviceFrom, receipt) > 0)
      .sort((a, b) => compareJstDates(a.serviceFrom, b.serviceFrom))[0];
    if (ended) context.push(`support ended on ${ended.end}`);
    if (upcoming) context.push(`the next support period starts on ${upcoming.serviceFrom}`);
    if (!ended && !upcoming) context.push('the tenant has no support period');
    return reject(
      'no_active_support',
      `additional licenses received ${receipt}, but no support period covers that date (${context.join('; ')}); ` +
        'additional licenses can only be added during a support period',
    );
  }
  // Seed 3(4): supported from the purchase date, ending with the licenses already held.
  return { accepted: true, dates: { serviceFrom: receipt, start: receipt, end: covering.end } };
}

/**
 * Applies one order, received on the JST date `receipt`, to the periods accepted so far.
 * A certificate (seed 3(5)) replaces start and end verbatim once the order is valid; access
 * still begins on the rule's access date when that is earlier (initial, re-continuation,
 * additional: the receipt date). A renewal's access date is its start, so a certified renewal
 * gives access from the certificate start.
 */
export function applyOrder(order: Order, receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  const outcome = applyByKind(order, receipt, periods);
  if (!outcome.accepted || order.certificate === undefined) return outcome;
  const { start, end } = order.certificate;
  const ruleAccess = order.kind === 'renewal' ? start : outcome.dates.serviceFrom;
  return { accepted: true, dates: { serviceFrom: minJstDate(ruleAccess, start), start, end } };
}

function applyByKind(order: Order, receipt: JstDate, periods: readonly SupportPeriod[]): OrderOutcome {
  switch (order.kind) {
    case 'initial':
      return applyInitial(receipt, periods);
    case 'renewal':
      return applyRenewal(receipt, periods);
    case 'recontinuation':
      return applyRecontinuation(receipt, periods);
    case 'additional':
      return applyAdditional(receipt, periods);
  }
}
