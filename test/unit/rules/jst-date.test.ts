import { describe, expect, it } from 'vitest';
import { InvalidDateError } from '../../../src/entitlement/rules/errors.js';
import {
  addDays,
  addYears,
  civilOfDayNumber,
  compareJstDates,
  dayNumberOf,
  endOfJstDay,
  firstOfMonthRule,
  isJstDate,
  jstDateOf,
  jstTimeOfDayMs,
  oneYearFrom,
  parseJstDate,
  startOfJstDay,
  weekdayOf,
} from '../../../src/entitlement/rules/jst-date.js';

describe('oneYearFrom (DOMAIN.md: the day before the same month-day next year)', () => {
  it.each([
    ['2026-12-01', '2027-11-30'],
    ['2027-04-01', '2028-03-31'],
    ['2028-02-29', '2029-02-28'],
    ['2027-03-01', '2028-02-29'],
    ['2028-03-01', '2029-02-28'],
    ['2027-01-01', '2027-12-31'],
    ['2026-12-31', '2027-12-30'],
    ['2027-02-28', '2028-02-27'],
    ['2028-02-28', '2029-02-27'],
  ])('%s -> %s', (start, end) => {
    expect(oneYearFrom(start)).toBe(end);
  });
});

describe('firstOfMonthRule', () => {
  it.each([
    ['2026-12-01', '2026-12-01'],
    ['2026-11-24', '2026-12-01'],
    ['2026-12-02', '2027-01-01'],
    ['2026-12-31', '2027-01-01'],
    ['2028-02-29', '2028-03-01'],
    ['2028-02-28', '2028-03-01'],
    ['2027-01-31', '2027-02-01'],
  ])('%s -> %s', (d, expected) => {
    expect(firstOfMonthRule(d)).toBe(expected);
  });
});

describe('jstDateOf: the JST receipt date of an instant in any offset', () => {
  it.each([
    ['2026-11-30T16:30:00Z', '2026-12-01'],
    ['2026-11-30T14:59:59.999Z', '2026-11-30'],
    ['2026-11-30T15:00:00Z', '2026-12-01'],
    ['2026-11-24T10:00:00+09:00', '2026-11-24'],
    ['2026-12-01T00:00:00+09:00', '2026-12-01'],
    ['2026-11-30T23:59:59+09:00', '2026-11-30'],
    ['2026-11-30T10:00:00-05:00', '2026-12-01'],
    ['2026-12-31T15:00:00Z', '2027-01-01'],
    ['2028-02-28T15:30:00Z', '2028-02-29'],
  ])('%s is %s in JST', (instant, date) => {
    expect(jstDateOf(new Date(instant))).toBe(date);
  });

  it('rejects an invalid Date', () => {
    expect(() => jstDateOf(new Date(Number.NaN))).toThrow(InvalidDateError);
  });

  it('gives the JST time of day', () => {
    expect(jstTimeOfDayMs(new Date('2027-01-15T08:00:00Z'))).toBe(17 * 3_600_000);
    expect(jstTimeOfDayMs(new Date('2027-01-14T15:00:00Z'))).toBe(0);
  });
});

describe('date arithmetic', () => {
  it('adds days across month, year and leap-day boundaries', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2027-02-28', 1)).toBe('2027-03-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2026-01-01', 365)).toBe('2027-01-01');
  });

  it('adds years, Feb 29 becoming Feb 28 in a common year', () => {
    expect(addYears('2025-11-30', 1)).toBe('2026-11-30');
    expect(addYears('2028-02-29', 1)).toBe('2029-02-28');
    expect(addYears('2028-02-29', 4)).toBe('2032-02-29');
  });

  it('round-trips day numbers and agrees with Date.UTC', () => {
    for (const d of ['1970-01-01', '2000-02-29', '2026-12-01', '2100-03-01', '1969-12-31']) {
      const [y, m, day] = d.split('-').map(Number) as [number, number, number];
      const n = dayNumberOf({ year: y, month: m, day });
      expect(n).toBe(Date.UTC(y, m - 1, day) / 86_400_000);
      expect(civilOfDayNumber(n)).toEqual({ year: y, month: m, day });
    }
  });

  it('knows the weekday', () => {
    expect(weekdayOf('2027-01-11')).toBe(1); // Monday
    expect(weekdayOf('2027-01-16')).toBe(6); // Saturday
    expect(weekdayOf('2027-01-17')).toBe(0); // Sunday
  });

  it('compares dates', () => {
    expect(compareJstDates('2026-11-30', '2026-12-01')).toBeLessThan(0);
    expect(compareJstDates('2026-12-01', '2026-12-01')).toBe(0);
    expect(compareJstDates('2027-01-01', '2026-12-31')).toBeGreaterThan(0);
  });
});

describe('JST day boundaries as UTC instants', () => {
  it('starts at 00:00 JST and ends at 23:59:59.999 JST', () => {
    expect(startOfJstDay('2026-12-01').toISOString()).toBe('2026-11-30T15:00:00.000Z');
    expect(endOfJstDay('2027-11-30').toISOString()).toBe('2027-11-30T14:59:59.999Z');
  });
});

describe('strict dates', () => {
  it.each([
    '2027-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2026-1-01',
    '20261201',
    '2026-12-01T00:00',
    '',
  ])('rejects %j', (text) => {
    expect(isJstDate(text)).toBe(false);
    expect(() => parseJstDate(text)).toThrow(InvalidDateError);
  });

  it('accepts real dates', () => {
    expect(parseJstDate('2028-02-29')).toBe('2028-02-29');
    expect(isJstDate('2000-02-29')).toBe(true);
    expect(isJstDate('1900-02-29')).toBe(false);
  });
});
