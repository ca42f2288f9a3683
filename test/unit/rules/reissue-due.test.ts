import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_CLOSING_DAYS,
  isBusinessDay,
  isClosingDay,
  isNationalHoliday,
  parseClosingDays,
} from '../../../src/entitlement/rules/business-days.js';
import { InvalidDateError, RuleOptionError } from '../../../src/entitlement/rules/errors.js';
import { reissueDue } from '../../../src/entitlement/rules/reissue-due.js';
import { jst } from './order-builders.js';

describe('reissueDue (seed 2(2): same day up to 17:00 on a business day, else the next business day)', () => {
  it.each([
    ['Thursday morning', '2027-01-14T09:00', '2027-01-14'],
    ['Thursday 00:00', '2027-01-14T00:00', '2027-01-14'],
    ['Thursday 17:00:00 exactly (17時まで includes 17:00)', '2027-01-14T17:00:00', '2027-01-14'],
    ['Thursday 17:00:00.001', '2027-01-14T17:00:00.001', '2027-01-15'],
    ['Thursday 17:00:01', '2027-01-14T17:00:01', '2027-01-15'],
    ['Thursday 23:59:59.999', '2027-01-14T23:59:59.999', '2027-01-15'],
    ['Friday after 17:00 goes past the weekend', '2027-01-15T17:00:01', '2027-01-18'],
    ['Saturday', '2027-01-16T10:00', '2027-01-18'],
    ['Sunday', '2027-01-17T10:00', '2027-01-18'],
    ['Friday evening before Coming of Age Day (Mon 2027-01-11)', '2027-01-08T17:30', '2027-01-12'],
    ['on Coming of Age Day itself, before 17:00', '2027-01-11T09:00', '2027-01-12'],
    ['on a substitute holiday (2026-05-06, こどもの日 振替休日)', '2026-05-06T10:00', '2026-05-07'],
    ['Friday evening before Golden Week', '2026-05-01T18:00', '2026-05-07'],
    ['Friday evening before Silver Week (with a citizen’s holiday)', '2026-09-18T17:01', '2026-09-24'],
    ['the business day before the year-end closing, after 17:00', '2026-12-28T17:30', '2027-01-04'],
    ['during the year-end closing (Dec 29)', '2026-12-29T10:00', '2027-01-04'],
    ['during the year-end closing (Jan 3)', '2027-01-03T10:00', '2027-01-04'],
    ['the day before the summer closing, before 17:00', '2027-08-12T16:59', '2027-08-12'],
    ['the day before the summer closing, after 17:00', '2027-08-12T18:00', '2027-08-16'],
    ['on Mountain Day (2027-08-11)', '2027-08-11T10:00', '2027-08-12'],
  ])('%s (%s JST) -> %s', (_name, local, due) => {
    expect(reissueDue(jst(local))).toBe(due);
  });

  it('reads the cut-off in JST for instants given in UTC', () => {
    expect(reissueDue(new Date('2027-01-14T08:00:00Z'))).toBe('2027-01-14'); // 17:00:00 JST
    expect(reissueDue(new Date('2027-01-14T08:00:01Z'))).toBe('2027-01-15'); // 17:00:01 JST
    // Friday 15:30 UTC is Saturday 00:30 in JST.
    expect(reissueDue(new Date('2027-01-15T15:30:00Z'))).toBe('2027-01-18');
    // Sunday 20:00 UTC is Monday 05:00 in JST, a business day.
    expect(reissueDue(new Date('2027-01-17T20:00:00Z'))).toBe('2027-01-18');
  });

  it('uses configured closing days instead of the defaults', () => {
    expect(reissueDue(jst('2026-12-29T10:00'), { closingDays: [] })).toBe('2026-12-29');
    const goldenWeekOff = parseClosingDays('05-07..05-08');
    expect(reissueDue(jst('2026-05-01T18:00'), { closingDays: goldenWeekOff })).toBe('2026-05-11');
  });

  it('refuses closing days that leave no business day', () => {
    expect(() =>
      reissueDue(jst('2027-01-14T10:00'), { closingDays: parseClosingDays('01-01..12-31') }),
    ).toThrow(RuleOptionError);
  });

  it('refuses an invalid instant', () => {
    expect(() => reissueDue(new Date(Number.NaN))).toThrow(InvalidDateError);
  });
});

describe('business days', () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  it('knows national and substitute holidays', () => {
    expect(isNationalHoliday('2027-01-11')).toBe(true);
    expect(isNationalHoliday('2026-05-06')).toBe(true);
    expect(isNationalHoliday('2026-09-22')).toBe(true);
    expect(isNationalHoliday('2027-01-12')).toBe(false);
  });

  it('does not depend on the machine time zone', () => {
    // holiday_jp reads a Date in local time; we hand it the date string, so a far-west zone
    // (where JST midnight is still the previous day) changes nothing.
    for (const tz of ['America/Los_Angeles', 'Pacific/Kiritimati', 'UTC']) {
      process.env.TZ = tz;
      expect(isBusinessDay('2027-01-11')).toBe(false);
      expect(isBusinessDay('2027-01-12')).toBe(true);
      expect(reissueDue(jst('2027-01-08T17:30'))).toBe('2027-01-12');
    }
  });

  it('treats the default closing days as closed every year', () => {
    for (const d of ['2027-08-13', '2030-08-15', '2026-12-29', '2026-12-31', '2027-01-02', '2031-01-03']) {
      expect(isClosingDay(d, DEFAULT_CLOSING_DAYS)).toBe(true);
    }
    for (const d of ['2027-08-12', '2027-08-16', '2026-12-28', '2027-01-04']) {
      expect(isClosingDay(d, DEFAULT_CLOSING_DAYS)).toBe(false);
    }
  });
});

describe('parseClosingDays', () => {
  it('parses ranges, wrapped ranges and single days', () => {
    expect(parseClosingDays('08-13..08-15, 12-29..01-03,05-01')).toEqual([
      { from: { month: 8, day: 13 }, to: { month: 8, day: 15 } },
      { from: { month: 12, day: 29 }, to: { month: 1, day: 3 } },
      { from: { month: 5, day: 1 }, to: { month: 5, day: 1 } },
    ]);
    expect(parseClosingDays('')).toEqual([]);
    expect(parseClosingDays('02-29')).toHaveLength(1);
  });

  it.each(['13-01', '02-30', '08-13..', '8-13', '08-13..08-14..08-15', '08-13,,08-14', 'summer'])(
    'refuses %j, naming it',
    (text) => {
      expect(() => parseClosingDays(text)).toThrow(RuleOptionError);
      expect(() => parseClosingDays(text)).toThrow(/closing days/);
    },
  );
});
