import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utcIsoString, utcTimestamp } from '../../../src/log/utc-timestamp.js';

describe('utcIsoString', () => {
  it('writes what Date.prototype.toISOString writes', () => {
    for (const ms of [
      0,
      1,
      999,
      951_782_400_000,
      1_796_627_563_123,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    ]) {
      expect(utcIsoString(ms)).toBe(new Date(ms).toISOString());
    }
    fc.assert(
      fc.property(
        fc.integer({ min: -62_167_219_200_000 - 1_000, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
        (ms) => {
          expect(utcIsoString(ms)).toBe(new Date(ms).toISOString());
        },
      ),
    );
  });

  it('leaves years outside 0000-9999 and invalid times to toISOString', () => {
    const far = Date.UTC(10_000, 0, 1);
    expect(utcIsoString(far)).toBe(new Date(far).toISOString());
    const before = Date.UTC(-1, 0, 1);
    expect(utcIsoString(before)).toBe(new Date(before).toISOString());
    expect(() => utcIsoString(Number.NaN)).toThrow(RangeError);
  });

  it('utcTimestamp is the current time', () => {
    const before = Date.now();
    const stamp = Date.parse(utcTimestamp());
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });
});
