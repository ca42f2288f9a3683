import { describe, expect, it } from 'vitest';
import { computeTimeline } from '../../../src/entitlement/rules/timeline.js';
import type { Order, Rejection, SupportPeriod } from '../../../src/entitlement/types.js';
import { history, order } from './order-builders.js';

// Prior history whose latest period ends on 2025-11-30 (start 2024-12-01).
const endsNov2025 = order('p-1', 'initial', '2024-11-15T10:00');
// Prior history whose latest period ends on 2027-11-30 (start 2026-12-01).
const endsNov2027 = order('p-1', 'initial', '2026-11-24T10:00');

interface Row {
  name: string;
  prior: Order[];
  order: Order;
  period?: Omit<SupportPeriod, 'order' | 'kind' | 'licenses'>;
  code?: Rejection['code'];
  mentions?: string[];
}

const rows: Row[] = [
  // initial: start = firstOfMonthRule(receipt), access from the receipt date, one year.
  {
    name: 'worked example 1: initial on 11-24 starts 12-01, access from 11-24',
    prior: [],
    order: order('o', 'initial', '2026-11-24T10:00'),
    period: { serviceFrom: '2026-11-24', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 'worked example 2: initial on the 1st starts that day',
    prior: [],
    order: order('o', 'initial', '2026-12-01T08:00'),
    period: { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 'worked example 6: 2026-11-30T16:30Z is 2026-12-01 in JST',
    prior: [],
    order: order('o', 'initial', '2026-11-30T16:30:00Z'),
    period: { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 'initial at 23:59:59 JST on the last day of a month stays in that month',
    prior: [],
    order: order('o', 'initial', '2026-11-30T23:59:59+09:00'),
    period: { serviceFrom: '2026-11-30', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 'initial in December starts on January 1st (year end)',
    prior: [],
    order: order('o', 'initial', '2027-12-15T10:00'),
    period: { serviceFrom: '2027-12-15', start: '2028-01-01', end: '2028-12-31' },
  },
  {
    name: 'initial on Feb 29 starts March 1st',
    prior: [],
    order: order('o', 'initial', '2028-02-29T10:00'),
    period: { serviceFrom: '2028-02-29', start: '2028-03-01', end: '2029-02-28' },
  },
  {
    name: 'initial in February 2027 starting March 1st ends on Feb 29 2028',
    prior: [],
    order: order('o', 'initial', '2027-02-10T10:00'),
    period: { serviceFrom: '2027-02-10', start: '2027-03-01', end: '2028-02-29' },
  },
  {
    name: 'a second initial is rejected',
    prior: [endsNov2027],
    order: order('o', 'initial', '2027-05-01T10:00'),
    code: 'already_initialised',
    mentions: ['2027-05-01', 'p-1', 'renewal'],
  },
  {
    name: 'a second initial is rejected even after support lapsed for years',
    prior: [endsNov2025],
    order: order('o', 'initial', '2030-05-01T10:00'),
    code: 'already_initialised',
    mentions: ['2030-05-01', '再継続'],
  },

  // renewal received on or before the latest end: starts the day after it.
  {
    name: 'worked example 3: renewal inside the period follows on from its end',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2027-11-10T10:00'),
    period: { serviceFrom: '2027-12-01', start: '2027-12-01', end: '2028-11-30' },
  },
  {
    name: 'renewal on the last day of the period, 23:59 JST',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2027-11-30T23:59'),
    period: { serviceFrom: '2027-12-01', start: '2027-12-01', end: '2028-11-30' },
  },
  {
    name: 'renewal received before the latest period even started is on or before its end',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2026-11-28T10:00'),
    period: { serviceFrom: '2027-12-01', start: '2027-12-01', end: '2028-11-30' },
  },
  {
    name: 'renewal after a period ending Feb 29 starts March 1st',
    prior: [order('p-1', 'initial', '2027-02-10T10:00')],
    order: order('o', 'renewal', '2028-02-01T10:00'),
    period: { serviceFrom: '2028-03-01', start: '2028-03-01', end: '2029-02-28' },
  },

  // renewal received late, within one year: first-of-month rule, no access in the gap.
  {
    name: 'worked example 4: late renewal starts on the first of the next month',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2028-01-15T10:00'),
    period: { serviceFrom: '2028-02-01', start: '2028-02-01', end: '2029-01-31' },
  },
  {
    name: 'late renewal on the day after the end, a 1st, leaves no gap',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2027-12-01T00:00'),
    period: { serviceFrom: '2027-12-01', start: '2027-12-01', end: '2028-11-30' },
  },
  {
    name: 'late renewal received 2027-12-31T15:00Z (2028-01-01 JST)',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2027-12-31T15:00:00Z'),
    period: { serviceFrom: '2028-01-01', start: '2028-01-01', end: '2028-12-31' },
  },
  {
    name: 'the last valid renewal day: end 2025-11-30, renewal on 2026-11-30',
    prior: [endsNov2025],
    order: order('o', 'renewal', '2026-11-30T23:59:59.999+09:00'),
    period: { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 'worked example 5: renewal the day after the last valid day needs re-continuation',
    prior: [endsNov2025],
    order: order('o', 'renewal', '2026-12-01T10:00'),
    code: 'recontinuation_required',
    mentions: ['2026-12-01', '2025-11-30', '2026-11-30', '再継続'],
  },
  {
    name: 'renewal at 2026-11-30T15:00Z is already 2026-12-01 in JST: too late',
    prior: [endsNov2025],
    order: order('o', 'renewal', '2026-11-30T15:00:00Z'),
    code: 'recontinuation_required',
  },
  {
    name: 'renewal with no period at all',
    prior: [],
    order: order('o', 'renewal', '2026-11-10T10:00'),
    code: 'no_prior_support',
    mentions: ['2026-11-10', 'initial'],
  },

  // recontinuation: more than one year after the latest end.
  {
    name: 're-continuation on the first day it applies (a 1st)',
    prior: [endsNov2025],
    order: order('o', 'recontinuation', '2026-12-01T10:00'),
    period: { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' },
  },
  {
    name: 're-continuation mid-month: access from receipt, year from the next 1st',
    prior: [endsNov2025],
    order: order('o', 'recontinuation', '2027-06-15T10:00'),
    period: { serviceFrom: '2027-06-15', start: '2027-07-01', end: '2028-06-30' },
  },
  {
    name: 're-continuation on the last renewal day: renewal applies',
    prior: [endsNov2025],
    order: order('o', 'recontinuation', '2026-11-30T10:00'),
    code: 'renewal_applies',
    mentions: ['2026-11-30', '2025-11-30'],
  },
  {
    name: 're-continuation while support is active: renewal applies',
    prior: [endsNov2025],
    order: order('o', 'recontinuation', '2025-06-01T10:00'),
    code: 'renewal_applies',
    mentions: ['2025-06-01', '2025-11-30'],
  },
  {
    name: 're-continuation with no period at all',
    prior: [],
    order: order('o', 'recontinuation', '2026-11-10T10:00'),
    code: 'no_prior_support',
  },

  // additional: from receipt to the covering period's end.
  {
    name: 'additional mid-period ends with the period (DOMAIN.md example file)',
    prior: [endsNov2027],
    order: order('o', 'additional', '2027-03-02T09:00'),
    period: { serviceFrom: '2027-03-02', start: '2027-03-02', end: '2027-11-30' },
  },
  {
    name: 'additional between an initial receipt and its base start is covered by the access window',
    prior: [endsNov2027],
    order: order('o', 'additional', '2026-11-26T09:00'),
    period: { serviceFrom: '2026-11-26', start: '2026-11-26', end: '2027-11-30' },
  },
  {
    name: 'additional on the last day of the period',
    prior: [endsNov2027],
    order: order('o', 'additional', '2027-11-30T09:00'),
    period: { serviceFrom: '2027-11-30', start: '2027-11-30', end: '2027-11-30' },
  },
  {
    name: 'additional after a renewal was booked aligns to the current period, not the booked one',
    prior: [endsNov2027, order('p-2', 'renewal', '2027-11-10T10:00')],
    order: order('o', 'additional', '2027-11-15T09:00'),
    period: { serviceFrom: '2027-11-15', start: '2027-11-15', end: '2027-11-30' },
  },
  {
    name: 'additional inside the renewed period aligns to its end',
    prior: [endsNov2027, order('p-2', 'renewal', '2027-11-10T10:00')],
    order: order('o', 'additional', '2028-01-10T09:00'),
    period: { serviceFrom: '2028-01-10', start: '2028-01-10', end: '2028-11-30' },
  },
  {
    name: 'additional in the gap before a late renewal starts',
    prior: [endsNov2027, order('p-2', 'renewal', '2028-01-15T10:00')],
    order: order('o', 'additional', '2028-01-20T09:00'),
    code: 'no_active_support',
    mentions: ['2028-01-20', '2027-11-30', '2028-02-01'],
  },
  {
    name: 'additional after support ended',
    prior: [endsNov2027],
    order: order('o', 'additional', '2027-12-01T09:00'),
    code: 'no_active_support',
    mentions: ['2027-12-01', '2027-11-30'],
  },
  {
    name: 'additional with no period at all',
    prior: [],
    order: order('o', 'additional', '2027-12-01T09:00'),
    code: 'no_active_support',
    mentions: ['no support period'],
  },

  // certificates govern the dates (seed 3(5)).
  {
    name: 'certified initial: certificate dates, access from the earlier receipt date',
    prior: [],
    order: order('o', 'initial', '2026-11-24T10:00', 10, { start: '2026-12-15', end: '2027-12-14' }),
    period: { serviceFrom: '2026-11-24', start: '2026-12-15', end: '2027-12-14' },
  },
  {
    name: 'certified initial starting before receipt: access from the certificate start',
    prior: [],
    order: order('o', 'initial', '2026-11-24T10:00', 10, { start: '2026-11-01', end: '2027-10-31' }),
    period: { serviceFrom: '2026-11-01', start: '2026-11-01', end: '2027-10-31' },
  },
  {
    name: 'certified renewal: access from the certificate start',
    prior: [endsNov2027],
    order: order('o', 'renewal', '2027-11-10T10:00', 10, { start: '2027-12-10', end: '2028-12-31' }),
    period: { serviceFrom: '2027-12-10', start: '2027-12-10', end: '2028-12-31' },
  },
  {
    name: 'certified re-continuation: access from the receipt date when earlier',
    prior: [endsNov2025],
    order: order('o', 'recontinuation', '2027-06-15T10:00', 10, { start: '2027-07-01', end: '2028-09-30' }),
    period: { serviceFrom: '2027-06-15', start: '2027-07-01', end: '2028-09-30' },
  },
  {
    name: 'a certificate does not make a too-late renewal valid',
    prior: [endsNov2025],
    order: order('o', 'renewal', '2026-12-01T10:00', 10, { start: '2026-12-01', end: '2027-11-30' }),
    code: 'recontinuation_required',
  },
];

describe('computeTimeline: every row of DOMAIN.md', () => {
  it.each(rows)('$name', (row) => {
    const t = computeTimeline(history(...row.prior, row.order));
    const accepted = t.periods.find((p) => p.order === 'o');
    const rejected = t.rejected.find((r) => r.order === 'o');
    if (row.period) {
      expect(rejected).toBeUndefined();
      expect(accepted).toEqual({
        order: 'o',
        kind: row.order.kind,
        ...row.period,
        licenses: row.order.licenses,
      });
    } else {
      expect(accepted).toBeUndefined();
      expect(rejected?.code).toBe(row.code);
      for (const text of row.mentions ?? []) expect(rejected?.message).toContain(text);
    }
    // Prior orders are all valid in these rows; the tested order changes none of them.
    const priorOnly = computeTimeline(history(...row.prior));
    expect(t.periods.filter((p) => p.order !== 'o')).toEqual(priorOnly.periods);
  });
});

describe('computeTimeline: whole histories', () => {
  it('prints exactly the shape of the DOMAIN.md example', () => {
    const t = computeTimeline({
      tenant: 'acme',
      orders: [
        { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
        { id: 'o-2', kind: 'additional', receivedAt: '2027-03-02T09:00:00+09:00', licenses: 10 },
      ],
    });
    expect(JSON.parse(JSON.stringify(t))).toEqual({
      tenant: 'acme',
      periods: [
        {
          order: 'o-1',
          kind: 'initial',
          serviceFrom: '2026-11-24',
          start: '2026-12-01',
          end: '2027-11-30',
          licenses: 50,
        },
        {
          order: 'o-2',
          kind: 'additional',
          serviceFrom: '2027-03-02',
          start: '2027-03-02',
          end: '2027-11-30',
          licenses: 10,
        },
      ],
      rejected: [],
    });
    expect(Object.keys(t.periods[0]!)).toEqual(['order', 'kind', 'serviceFrom', 'start', 'end', 'licenses']);
  });

  it('applies orders by receipt instant whatever the file order, instants compared across offsets', () => {
    const t = computeTimeline(
      history(
        order('r', 'renewal', '2027-11-10T10:00'),
        // 2026-11-24T01:00Z: before the renewal, although listed after it.
        order('i', 'initial', '2026-11-24T10:00:00+09:00'),
      ),
    );
    expect(t.periods.map((p) => p.order)).toEqual(['i', 'r']);
    expect(t.rejected).toEqual([]);
  });

  it('breaks ties of the same instant by id', () => {
    const t = computeTimeline(
      history(order('b', 'initial', '2026-11-24T10:00'), order('a', 'initial', '2026-11-24T01:00:00Z')),
    );
    expect(t.periods.map((p) => p.order)).toEqual(['a']);
    expect(t.rejected).toEqual([expect.objectContaining({ order: 'b', code: 'already_initialised' })]);
  });

  it('a rejected order changes nothing: re-continuation still accepted after a rejected renewal', () => {
    const t = computeTimeline(
      history(
        endsNov2025,
        order('r', 'renewal', '2026-12-01T10:00'),
        order('c', 'recontinuation', '2026-12-02T10:00'),
      ),
    );
    expect(t.rejected.map((r) => [r.order, r.code])).toEqual([['r', 'recontinuation_required']]);
    expect(t.periods.at(-1)).toEqual({
      order: 'c',
      kind: 'recontinuation',
      serviceFrom: '2026-12-02',
      start: '2027-01-01',
      end: '2027-12-31',
      licenses: 10,
    });
  });

  it('chains in-period renewals: each follows on from the latest end', () => {
    const t = computeTimeline(
      history(
        endsNov2027,
        order('r1', 'renewal', '2027-10-01T10:00'),
        order('r2', 'renewal', '2027-10-02T10:00'),
      ),
    );
    expect(t.periods.map((p) => [p.start, p.end])).toEqual([
      ['2026-12-01', '2027-11-30'],
      ['2027-12-01', '2028-11-30'],
      ['2028-12-01', '2029-11-30'],
    ]);
  });

  it('measures renewals against the latest period after a late renewal and a re-continuation', () => {
    const t = computeTimeline(
      history(
        endsNov2025,
        order('c', 'recontinuation', '2027-06-15T10:00'), // 2027-07-01 .. 2028-06-30
        order('r', 'renewal', '2029-06-30T10:00'), // last valid day after 2028-06-30
        order('r2', 'renewal', '2031-07-01T10:00'), // one day too late after 2030-06-30
      ),
    );
    expect(t.periods.map((p) => [p.order, p.start, p.end])).toEqual([
      ['p-1', '2024-12-01', '2025-11-30'],
      ['c', '2027-07-01', '2028-06-30'],
      ['r', '2029-07-01', '2030-06-30'],
    ]);
    expect(t.rejected.map((r) => r.code)).toEqual(['recontinuation_required']);
  });

  it('an empty history has no periods and no rejections', () => {
    expect(computeTimeline(history())).toEqual({ tenant: 'acme', periods: [], rejected: [] });
  });
});
