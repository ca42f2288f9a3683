import { describe, expect, it } from 'vitest';
import { entitlementAt, nextChangeAt } from '../../../src/entitlement/rules/entitlement.js';
import { InvalidDateError, RuleOptionError } from '../../../src/entitlement/rules/errors.js';
import type { Entitlement } from '../../../src/entitlement/types.js';
import { history, jst, order } from './order-builders.js';

// DOMAIN.md example file: 50 licenses from 2026-11-24, +10 from 2027-03-02, all to 2027-11-30.
const example = history(
  order('o-1', 'initial', '2026-11-24T10:00', 50),
  order('o-2', 'additional', '2027-03-02T09:00', 10),
);

function active(licenses: number, until: string): Entitlement {
  return { tenant: 'acme', active: true, state: 'active', licenses, until };
}
function grace(licenses: number, until: string): Entitlement {
  return { tenant: 'acme', active: true, state: 'grace', licenses, until };
}
function inactive(state: Entitlement['state']): Entitlement {
  return { tenant: 'acme', active: false, state, licenses: 0, until: null };
}

describe('entitlementAt', () => {
  it.each([
    ['before any order is received', '2026-11-23T12:00', inactive('none')],
    ['the minute before the initial order is received', '2026-11-24T09:59:59.999', inactive('none')],
    [
      'the instant the initial order is received (access from the receipt date)',
      '2026-11-24T10:00',
      active(50, '2027-11-30'),
    ],
    ['before the base start, within the access window', '2026-11-30T23:59', active(50, '2027-11-30')],
    ['just before the additional licenses are received', '2027-03-02T08:59:59.999', active(50, '2027-11-30')],
    ['once the additional licenses are received', '2027-03-02T09:00', active(60, '2027-11-30')],
    ['the last instant of the period', '2027-11-30T23:59:59.999', active(60, '2027-11-30')],
    ['the first instant after the period', '2027-12-01T00:00', inactive('expired')],
  ])('%s (%s JST)', (_name, local, expected) => {
    expect(entitlementAt(example, jst(local))).toEqual(expected);
  });

  it('treats a UTC instant by its JST date: 2027-11-30T15:00Z is 2027-12-01 in JST', () => {
    expect(entitlementAt(example, new Date('2027-11-30T14:59:59.999Z')).state).toBe('active');
    expect(entitlementAt(example, new Date('2027-11-30T15:00:00Z')).state).toBe('expired');
  });

  describe('grace', () => {
    it('0 days (the default) means expired the day after the end', () => {
      expect(entitlementAt(example, jst('2027-12-01T00:00'), { graceDays: 0 })).toEqual(inactive('expired'));
    });

    it('N days: credentials with the last day’s licenses until the last grace day', () => {
      expect(entitlementAt(example, jst('2027-12-01T00:00'), { graceDays: 7 })).toEqual(
        grace(60, '2027-12-07'),
      );
      expect(entitlementAt(example, jst('2027-12-07T23:59:59.999'), { graceDays: 7 })).toEqual(
        grace(60, '2027-12-07'),
      );
      expect(entitlementAt(example, jst('2027-12-08T00:00'), { graceDays: 7 })).toEqual(inactive('expired'));
    });

    it('a grace that runs into a booked late renewal is one stretch', () => {
      const h = history(
        order('i', 'initial', '2026-11-24T10:00', 5),
        order('r', 'renewal', '2027-12-15T10:00', 8),
      );
      // r starts 2028-01-01; 31 grace days cover 2027-12-01..2027-12-31.
      expect(entitlementAt(h, jst('2027-12-20T10:00'), { graceDays: 31 })).toEqual(grace(5, '2028-12-31'));
      expect(entitlementAt(h, jst('2027-12-20T10:00'), { graceDays: 10 })).toEqual(inactive('not_started'));
    });

    it('refuses a negative or fractional grace', () => {
      expect(() => entitlementAt(example, jst('2027-12-01T00:00'), { graceDays: -1 })).toThrow(
        RuleOptionError,
      );
      expect(() => entitlementAt(example, jst('2027-12-01T00:00'), { graceDays: 1.5 })).toThrow(
        RuleOptionError,
      );
    });
  });

  describe('a late renewal leaves a gap', () => {
    const h = history(
      order('i', 'initial', '2026-11-24T10:00', 5),
      order('r', 'renewal', '2028-01-15T10:00', 8),
    );

    it('expired before the renewal is known, not_started once it is', () => {
      expect(entitlementAt(h, jst('2028-01-15T09:59'))).toEqual(inactive('expired'));
      expect(entitlementAt(h, jst('2028-01-15T10:00'))).toEqual(inactive('not_started'));
      expect(entitlementAt(h, jst('2028-01-31T23:59:59.999'))).toEqual(inactive('not_started'));
    });

    it('active from the renewal start with the renewal’s licenses', () => {
      expect(entitlementAt(h, jst('2028-02-01T00:00'))).toEqual(active(8, '2029-01-31'));
    });

    it('grace ends before the gap does', () => {
      expect(entitlementAt(h, jst('2028-01-20T10:00'), { graceDays: 7 })).toEqual(inactive('not_started'));
    });
  });

  describe('until merges back-to-back periods, as known at the instant', () => {
    const h = history(
      order('i', 'initial', '2026-11-24T10:00', 5),
      order('r', 'renewal', '2027-11-10T10:00', 7),
    );

    it('before the renewal is received, support ends with the initial period', () => {
      expect(entitlementAt(h, jst('2027-06-01T10:00'))).toEqual(active(5, '2027-11-30'));
    });

    it('once the renewal is known, the stretch runs to its end', () => {
      expect(entitlementAt(h, jst('2027-11-10T10:00'))).toEqual(active(5, '2028-11-30'));
      expect(entitlementAt(h, jst('2027-12-01T00:00'))).toEqual(active(7, '2028-11-30'));
    });

    it('a late renewal received on the 1st after the end also joins without a gap', () => {
      const late = history(
        order('i', 'initial', '2026-11-24T10:00', 5),
        order('r', 'renewal', '2027-12-01T09:00', 7),
      );
      expect(entitlementAt(late, jst('2027-11-30T12:00'))).toEqual(active(5, '2027-11-30'));
      expect(entitlementAt(late, jst('2027-12-01T08:59'))).toEqual(inactive('expired'));
      expect(entitlementAt(late, jst('2027-12-01T09:00'))).toEqual(active(7, '2028-11-30'));
    });
  });

  it('counts only additional licenses whose window covers the instant', () => {
    const h = history(
      order('i', 'initial', '2026-11-24T10:00', 5),
      order('a1', 'additional', '2027-05-01T10:00', 2),
      order('r', 'renewal', '2027-11-10T10:00', 9),
      order('a2', 'additional', '2028-03-01T10:00', 3),
    );
    expect(entitlementAt(h, jst('2027-11-30T12:00')).licenses).toBe(7);
    expect(entitlementAt(h, jst('2027-12-01T00:00')).licenses).toBe(9);
    expect(entitlementAt(h, jst('2028-03-01T10:00')).licenses).toBe(12);
  });

  it('reports none when every known order was rejected', () => {
    expect(
      entitlementAt(history(order('r', 'renewal', '2027-01-01T10:00')), jst('2027-06-01T00:00')),
    ).toEqual(inactive('none'));
  });

  it('expired after a lapse, active again after a re-continuation', () => {
    const h = history(
      order('i', 'initial', '2024-11-15T10:00', 5),
      order('c', 'recontinuation', '2027-06-15T10:00', 6),
    );
    expect(entitlementAt(h, jst('2027-06-15T09:00'))).toEqual(inactive('expired'));
    expect(entitlementAt(h, jst('2027-06-15T10:00'))).toEqual(active(6, '2028-06-30'));
  });

  it('refuses an invalid instant', () => {
    expect(() => entitlementAt(example, new Date('nonsense'))).toThrow(InvalidDateError);
  });
});

describe('nextChangeAt', () => {
  it('is the receipt of the next order when that comes first', () => {
    expect(nextChangeAt(example, jst('2026-01-01T00:00'))).toEqual(jst('2026-11-24T10:00'));
    expect(nextChangeAt(example, jst('2027-01-01T00:00'))).toEqual(jst('2027-03-02T09:00'));
  });

  it('is the first instant after the period, then the day after grace', () => {
    expect(nextChangeAt(example, jst('2027-03-02T09:00'))).toEqual(jst('2027-12-01T00:00'));
    expect(nextChangeAt(example, jst('2027-12-01T00:00'), { graceDays: 7 })).toEqual(jst('2027-12-08T00:00'));
    expect(nextChangeAt(example, jst('2027-12-01T00:00'))).toBeNull();
  });

  it('is the start of a booked period in a gap', () => {
    const h = history(
      order('i', 'initial', '2026-11-24T10:00', 5),
      order('r', 'renewal', '2028-01-15T10:00', 8),
    );
    expect(nextChangeAt(h, jst('2028-01-20T10:00'))).toEqual(jst('2028-02-01T00:00'));
  });

  it('is the end of an additional period that ends before the base one (certificate)', () => {
    const h = history(
      order('i', 'initial', '2026-11-24T10:00', 5),
      order('a', 'additional', '2027-03-02T09:00', 1, { start: '2027-03-02', end: '2027-06-30' }),
    );
    expect(nextChangeAt(h, jst('2027-04-01T00:00'))).toEqual(jst('2027-07-01T00:00'));
    expect(entitlementAt(h, jst('2027-06-30T23:59:59.999')).licenses).toBe(6);
    expect(entitlementAt(h, jst('2027-07-01T00:00')).licenses).toBe(5);
  });
});
