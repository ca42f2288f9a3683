// JST calendar arithmetic (DOMAIN.md "Time"). Asia/Tokyo is a fixed UTC+9 with no DST, so the
// JST date of an instant is the UTC date of the instant plus nine hours; no Intl, no local time.
// Dates are handled as day numbers (days since 1970-01-01) with the proleptic Gregorian
// algorithms of H. Hinnant, which work for every year without the Date object's 0..99 quirk.
import type { JstDate } from '../types.js';
import { InvalidDateError } from './errors.js';

const DAY_MS = 86_400_000;
/** Asia/Tokyo offset from UTC: +9 h all year (no daylight saving time). */
export const JST_OFFSET_MS = 9 * 3_600_000;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date split into its parts; month and day are 1-based. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** True for Gregorian leap years. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in a month (1-based month). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True when year/month/day name a real calendar date (2027-02-29 does not). */
export function isValidCivilDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    year >= 0 &&
    year <= 9999 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

/** Days since 1970-01-01 of a civil date. */
export function dayNumberOf({ year, month, day }: CivilDate): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The civil date of a day number (inverse of dayNumberOf). */
export function civilOfDayNumber(dayNumber: number): CivilDate {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Formats a civil date as 'YYYY-MM-DD'. */
export function formatJstDate({ year, month, day }: CivilDate): JstDate {
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** Splits a 'YYYY-MM-DD' date, rejecting anything that is not a real calendar date. */
export function civilOf(date: string): CivilDate {
  const m = DATE_PATTERN.exec(date);
  if (!m) throw new InvalidDateError(`expected a date 'YYYY-MM-DD', got ${JSON.stringify(date)}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!isValidCivilDate(year, month, day)) {
    throw new InvalidDateError(`${JSON.stringify(date)} is not a calendar date`);
  }
  return { year, month, day };
}

/** Validates a 'YYYY-MM-DD' JST date and returns it unchanged. */
export function parseJstDate(date: string): JstDate {
  civilOf(date);
  return date;
}

/** True when text is a valid 'YYYY-MM-DD' calendar date. */
export function isJstDate(text: string): boolean {
  const m = DATE_PATTERN.exec(text);
  return m !== null && isValidCivilDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** Day number of a 'YYYY-MM-DD' date. */
export function dayNumberOfDate(date: JstDate): number {
  return dayNumberOf(civilOf(date));
}

/** The JST calendar date of an instant: the receipt date of an order received then. */
export function jstDateOf(instant: Date): JstDate {
  const t = instant.getTime();
  if (Number.isNaN(t)) throw new InvalidDateError('invalid instant (NaN time value)');
  return formatJstDate(civilOfDayNumber(Math.floor((t + JST_OFFSET_MS) / DAY_MS)));
}

/** Milliseconds since 00:00 JST of the instant's JST date, 0..86_399_999. */
export function jstTimeOfDayMs(instant: Date): number {
  const shifted = instant.getTime() + JST_OFFSET_MS;
  return shifted - Math.floor(shifted / DAY_MS) * DAY_MS;
}

/** Day of week of a date, 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOf(date: JstDate): number {
  return (((dayNumberOfDate(date) + 4) % 7) + 7) % 7;
}

/** The date `days` days after (or before, when negative) `date`. */
export function addDays(date: JstDate, days: number): JstDate {
  return formatJstDate(civilOfDayNumber(dayNumberOfDate(date) + days));
}

/**
 * The same month-day `years` years later; Feb 29 becomes Feb 28 in a common year (civil code
 * art. 143(2): with no corresponding day, the last day of that month).
 */
export function addYears(date: JstDate, years: number): JstDate {
  const { year, month, day } = civilOf(date);
  const target = year + years;
  return formatJstDate({ year: target, month, day: Math.min(day, daysInMonth(target, month)) });
}

/**
 * The last day of the one-year period that starts on `start` (DOMAIN.md "one year from S"):
 * the day before the same month-day of the next year; a Feb 29 start ends on Feb 28.
 */
export function oneYearFrom(start: JstDate): JstDate {
  const { year, month, day } = civilOf(start);
  if (month === 2 && day === 29) return formatJstDate({ year: year + 1, month: 2, day: 28 });
  return addDays(formatJstDate({ year: year + 1, month, day }), -1);
}

/** `date` when it is the 1st of a month, else the 1st of the next month (seed 3(1), 3(2)). */
export function firstOfMonthRule(date: JstDate): JstDate {
  const { year, month, day } = civilOf(date);
  if (day === 1) return date;
  return month === 12
    ? formatJstDate({ year: year + 1, month: 1, day: 1 })
    : formatJstDate({ year, month: month + 1, day: 1 });
}

/** Negative, zero or positive as a is before, equal to or after b. */
export function compareJstDates(a: JstDate, b: JstDate): number {
  // 'YYYY-MM-DD' with four-digit years sorts lexically in calendar order.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of two dates. */
export function maxJstDate(a: JstDate, b: JstDate): JstDate {
  return compareJstDates(a, b) >= 0 ? a : b;
}

/** The earlier of two dates. */
export function minJstDate(a: JstDate, b: JstDate): JstDate {
  return compareJstDates(a, b) <= 0 ? a : b;
}

/** The instant 00:00:00.000 JST on `date`, where access granted from that day begins. */
export function startOfJstDay(date: JstDate): Date {
  return new Date(dayNumberOfDate(date) * DAY_MS - JST_OFFSET_MS);
}

/** The instant 23:59:59.999 JST on `date`, the last instant of access granted through that day. */
export function endOfJstDay(date: JstDate): Date {
  return new Date(startOfJstDay(date).getTime() + DAY_MS - 1);
}
