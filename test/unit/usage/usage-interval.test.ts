import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secondsByJstDay } from '../../../src/usage/index.js';

const at = (iso: string) => Date.parse(iso);

describe('secondsByJstDay', () => {
  it('keeps an interval inside one JST day whole', () => {
    expect(secondsByJstDay(at('2026-11-24T01:00:00Z'), at('2026-11-24T01:10:00Z'))).toEqual([
      { day: '2026-11-24', seconds: 600 },
    ]);
  });

  it('splits at midnight JST (15:00 UTC), not at midnight UTC', () => {
    expect(secondsByJstDay(at('2026-11-24T14:50:00Z'), at('2026-11-24T15:20:00Z'))).toEqual([
      { day: '2026-11-24', seconds: 600 },
      { day: '2026-11-25', seconds: 1200 },
    ]);
    expect(secondsByJstDay(at('2026-11-24T23:50:00Z'), at('2026-11-25T00:10:00Z'))).toEqual([
      { day: '2026-11-25', seconds: 1200 },
    ]);
  });

  it('gives every whole day in between 86400 seconds', () => {
    const shares = secondsByJstDay(at('2026-12-31T14:00:00Z'), at('2027-01-02T16:00:00Z'));
    expect(shares).toEqual([
      { day: '2026-12-31', seconds: 3600 },
      { day: '2027-01-01', seconds: 86_400 },
      { day: '2027-01-02', seconds: 86_400 },
      { day: '2027-01-03', seconds: 3600 },
    ]);
  });

  it('is empty for an empty or reversed interval', () => {
    expect(secondsByJstDay(1000, 1000)).toEqual([]);
    expect(secondsByJstDay(2000, 1000)).toEqual([]);
  });

  it('loses and adds no time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
        fc.integer({ min: 0, max: 5 * 86_400_000 }),
        (start, length) => {
          const total = secondsByJstDay(start, start + length).reduce((sum, s) => sum + s.seconds, 0);
          expect(total).toBeCloseTo(length / 1000, 6);
        },
      ),
      { numRuns: 200 },
    );
  });
});
