// Due date of a license-key reissue requested through the manual form (seed 2(2):
// 当社営業日17時までの申請受理分につきましてはその当日中に、…翌営業日に送付).
import type { JstDate } from '../types.js';
import {
  type ClosingDaySpec,
  DEFAULT_CLOSING_DAYS,
  isBusinessDay,
  nextBusinessDay,
} from './business-days.js';
import { InvalidDateError } from './errors.js';
import { jstDateOf, jstTimeOfDayMs } from './jst-date.js';

/** 17:00:00.000 JST, the cut-off; "17時まで" includes 17:00 itself, 17:00:00.001 is after it. */
export const REISSUE_CUTOFF_MS = 17 * 3_600_000;

/** Options of reissueDue. */
export interface ReissueDueOptions {
  /** Company closing days; DEFAULT_CLOSING_DAYS when omitted. */
  closingDays?: readonly ClosingDaySpec[];
}

/**
 * The JST date by which a manual reissue request accepted at `at` is answered: that day when
 * it is a business day and `at` is at or before 17:00:00.000 JST, else the next business day.
 */
export function reissueDue(at: Date, opts?: ReissueDueOptions): JstDate {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new InvalidDateError('the request instant is not a valid date');
  }
  const closingDays = opts?.closingDays ?? DEFAULT_CLOSING_DAYS;
  const day = jstDateOf(at);
  if (isBusinessDay(day, closingDays) && jstTimeOfDayMs(at) <= REISSUE_CUTOFF_MS) return day;
  return nextBusinessDay(day, closingDays);
}
