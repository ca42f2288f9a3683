// Strict ISO-8601 instants. A time without an offset is refused: it would be read in the
// machine's zone, and a receipt date must not depend on where icegate happens to run.
import { InvalidDateError } from './errors.js';
import { dayNumberOf, isValidCivilDate } from './jst-date.js';

// date 'T' hh:mm[:ss[.fraction]] then 'Z' or ±hh:mm / ±hhmm (RFC 3339 section 5.6 plus the basic offset).
const INSTANT_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/;

const EXAMPLE = '2026-11-24T10:00:00+09:00';

/** Parses an ISO-8601 instant that carries 'Z' or a UTC offset; throws InvalidDateError otherwise. */
export function parseInstant(text: string): Date {
  const m = INSTANT_PATTERN.exec(text);
  if (!m) {
    const bareLocal = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(text);
    throw new InvalidDateError(
      bareLocal
        ? `${JSON.stringify(text)} has no UTC offset; write it with 'Z' or an offset, e.g. ${EXAMPLE}`
        : `expected an ISO-8601 instant with an offset, e.g. ${EXAMPLE}, got ${JSON.stringify(text)}`,
    );
  }
  const [, ys, mos, ds, hs, mis, ss, frac, zulu, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  if (!isValidCivilDate(year, month, day)) {
    throw new InvalidDateError(`${JSON.stringify(text)} is not a calendar date`);
  }
  if (hour > 23 || minute > 59 || second > 59) {
    throw new InvalidDateError(`${JSON.stringify(text)} has an invalid time of day`);
  }
  let offsetMinutes = 0;
  if (zulu === undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) throw new InvalidDateError(`${JSON.stringify(text)} has an invalid UTC offset`);
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms =
    dayNumberOf({ year, month, day }) * 86_400_000 +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    millis;
  return new Date(ms);
}

/** True when text parses with parseInstant. */
export function isInstant(text: string): boolean {
  try {
    parseInstant(text);
    return true;
  } catch {
    return false;
  }
}
