// Allocation time is accounted per JST calendar day (DOMAIN.md "Time"), so an interval that
// crosses midnight JST is split and each day gets its own share.
import { addDays, jstDateOf, startOfJstDay } from '../entitlement/rules/index.js';
import type { JstDate } from '../entitlement/types.js';

/** Seconds of one interval that fall on one JST day. */
export interface DayShare {
  day: JstDate;
  seconds: number;
}

/** Splits the interval [startMs, endMs) at JST midnights; empty when endMs <= startMs. */
export function secondsByJstDay(startMs: number, endMs: number): DayShare[] {
  const shares: DayShare[] = [];
  let cursor = startMs;
  while (cursor < endMs) {
    const day = jstDateOf(new Date(cursor));
    const next = Math.min(endMs, startOfJstDay(addDays(day, 1)).getTime());
    shares.push({ day, seconds: (next - cursor) / 1000 });
    cursor = next;
  }
  return shares;
}
