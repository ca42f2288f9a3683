// Validation shared by both stores' usage accounting (issue 6), so bad counters never land.
import { EARLIEST_ORDER_DATE } from '../rules/index.js';
import { StoreError } from './errors.js';
import type { UsageRow } from './store.js';

const JST_DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/**
 * True for 'YYYY-MM-DD' strings that name a real calendar date from 1970 to 9999 (PostgreSQL's
 * date has no year 0000, and a relay day before 1970 is a bug; issue 15 point 5).
 */
export function isCalendarDate(day: string): boolean {
  if (!JST_DAY.test(day) || day < EARLIEST_ORDER_DATE) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/** Throws `invalid_usage` unless every row has a tenant, a calendar day and non-negative integers. */
export function checkUsageRows(rows: readonly UsageRow[]): void {
  for (const row of rows) {
    const problem =
      typeof row.tenant !== 'string' || row.tenant.length === 0
        ? 'tenant is empty'
        : !isCalendarDate(row.day)
          ? `day ${JSON.stringify(row.day)} is not a YYYY-MM-DD date`
          : !Number.isSafeInteger(row.bytesRelayed) || row.bytesRelayed < 0
            ? 'bytesRelayed is not a non-negative integer'
            : !Number.isSafeInteger(row.allocationSeconds) || row.allocationSeconds < 0
              ? 'allocationSeconds is not a non-negative integer'
              : null;
    if (problem !== null)
      throw new StoreError('invalid_usage', `usage row for ${String(row.tenant)}: ${problem}`);
  }
}

/** Throws `invalid_usage` unless `from` and `to` are calendar dates. */
export function checkUsageRange(from: string, to: string): void {
  for (const day of [from, to]) {
    if (!isCalendarDate(day)) {
      throw new StoreError(
        'invalid_usage',
        `usage range bound ${JSON.stringify(day)} is not a YYYY-MM-DD date`,
      );
    }
  }
}
