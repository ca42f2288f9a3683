// Business days of the support desk (seed 2(2): 土曜日曜祝日および当社休業日を除く): Monday to
// Friday, minus Japanese national holidays and the company's closing days (summer, year end).
import { createRequire } from 'node:module';
import type HolidayJp from '@holiday-jp/holiday_jp';
import type { JstDate } from '../types.js';
import { RuleOptionError } from './errors.js';
import { addDays, civilOf, daysInMonth, weekdayOf } from './jst-date.js';

// The holiday table (about 230 KB of source, a few MiB of heap) is required on the first
// business-day question, not at module load: a node that only relays never asks one.
const requireFromHere = createRequire(import.meta.url);
let holidayJp: typeof HolidayJp | undefined;
const holidays = (): typeof HolidayJp =>
  (holidayJp ??= requireFromHere('@holiday-jp/holiday_jp') as typeof HolidayJp);

/** A month and day, 1-based, valid in some year (02-29 is allowed). */
export interface MonthDay {
  month: number;
  day: number;
}

/** Company closing days repeated every year: from..to inclusive, wrapping the year end when from > to. */
export interface ClosingDaySpec {
  from: MonthDay;
  to: MonthDay;
}

const MONTH_DAY_PATTERN = /^(\d{2})-(\d{2})$/;

function parseMonthDay(text: string, whole: string): MonthDay {
  const m = MONTH_DAY_PATTERN.exec(text);
  const month = Number(m?.[1]);
  const day = Number(m?.[2]);
  // 2000 is a leap year, so 02-29 counts as a valid month-day.
  if (!m || month < 1 || month > 12 || day < 1 || day > daysInMonth(2000, month)) {
    throw new RuleOptionError(
      `closing days: ${JSON.stringify(text)} in ${JSON.stringify(whole)} is not a month-day 'MM-DD'`,
    );
  }
  return { month, day };
}

/**
 * Parses closing days written as comma-separated 'MM-DD..MM-DD' ranges or single 'MM-DD' days,
 * e.g. '08-13..08-15,12-29..01-03' (the second wraps the year end). An empty text means none.
 * Intended for the SUPPORT_CLOSING_DAYS setting; throws RuleOptionError naming the bad part.
 */
export function parseClosingDays(text: string): ClosingDaySpec[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return trimmed.split(',').map((raw) => {
    const part = raw.trim();
    const bounds = part.split('..');
    if (bounds.length > 2 || part === '') {
      throw new RuleOptionError(
        `closing days: ${JSON.stringify(part)} in ${JSON.stringify(text)} is not 'MM-DD' or 'MM-DD..MM-DD'`,
      );
    }
    const from = parseMonthDay(bounds[0]!.trim(), text);
    const to = bounds[1] === undefined ? from : parseMonthDay(bounds[1].trim(), text);
    return { from, to };
  });
}

/** The default closing days: summer Aug 13-15 and year end Dec 29 - Jan 3. */
export const DEFAULT_CLOSING_DAYS: readonly ClosingDaySpec[] = Object.freeze(
  parseClosingDays('08-13..08-15,12-29..01-03'),
);

function ordinal({ month, day }: MonthDay): number {
  return month * 100 + day;
}

/** True when the date falls in one of the closing-day ranges. */
export function isClosingDay(date: JstDate, closingDays: readonly ClosingDaySpec[]): boolean {
  const md = ordinal(civilOf(date));
  return closingDays.some(({ from, to }) => {
    const lo = ordinal(from);
    const hi = ordinal(to);
    return lo <= hi ? lo <= md && md <= hi : md >= lo || md <= hi;
  });
}

/**
 * True when the date is a Japanese national or substitute holiday. The date is passed to
 * holiday_jp as its 'YYYY-MM-DD' string: given a Date, the library would read it in the
 * machine's local zone. Its table ends in 2050; later dates are never holidays to it.
 */
export function isNationalHoliday(date: JstDate): boolean {
  return holidays().isHoliday(date);
}

/** True for Monday-Friday dates that are neither national holidays nor closing days. */
export function isBusinessDay(
  date: JstDate,
  closingDays: readonly ClosingDaySpec[] = DEFAULT_CLOSING_DAYS,
): boolean {
  const weekday = weekdayOf(date);
  if (weekday === 0 || weekday === 6) return false;
  return !isNationalHoliday(date) && !isClosingDay(date, closingDays);
}

// A year always holds a business day unless the closing days cover all of it.
const SEARCH_LIMIT_DAYS = 400;

/** The first business day strictly after `date`; throws RuleOptionError if none within 400 days. */
export function nextBusinessDay(
  date: JstDate,
  closingDays: readonly ClosingDaySpec[] = DEFAULT_CLOSING_DAYS,
): JstDate {
  let d = date;
  for (let i = 0; i < SEARCH_LIMIT_DAYS; i++) {
    d = addDays(d, 1);
    if (isBusinessDay(d, closingDays)) return d;
  }
  throw new RuleOptionError(
    `no business day within ${SEARCH_LIMIT_DAYS} days after ${date}; check the closing days`,
  );
}
