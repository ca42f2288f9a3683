import { describe, expect, it } from 'vitest';
import { InvalidDateError } from '../../../src/entitlement/rules/errors.js';
import { isInstant, parseInstant } from '../../../src/entitlement/rules/instant.js';

describe('parseInstant', () => {
  it.each([
    ['2026-11-24T10:00:00+09:00', '2026-11-24T01:00:00.000Z'],
    ['2026-11-24T10:00+09:00', '2026-11-24T01:00:00.000Z'],
    ['2026-11-30T16:30:00Z', '2026-11-30T16:30:00.000Z'],
    ['2026-11-30T16:30:00.123Z', '2026-11-30T16:30:00.123Z'],
    ['2026-11-30T16:30:00.1234567Z', '2026-11-30T16:30:00.123Z'],
    ['2026-11-30T16:30:00.5Z', '2026-11-30T16:30:00.500Z'],
    ['2026-11-30T10:00:00-05:00', '2026-11-30T15:00:00.000Z'],
    ['2026-11-30T10:00:00+0530', '2026-11-30T04:30:00.000Z'],
    ['2028-02-29T00:00:00+09:00', '2028-02-28T15:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseInstant(text).toISOString()).toBe(iso);
  });

  it('refuses a bare local time, naming the missing offset', () => {
    expect(() => parseInstant('2026-11-24T10:00:00')).toThrow(/no UTC offset/);
    expect(() => parseInstant('2026-11-24')).toThrow(/no UTC offset/);
  });

  it.each([
    '2027-02-29T10:00:00+09:00',
    '2026-04-31T10:00:00Z',
    '2026-11-24T24:00:00Z',
    '2026-11-24T10:60:00Z',
    '2026-11-24T10:00:60Z',
    '2026-11-24T10:00:00+24:00',
    '2026-11-24 10:00:00Z',
    'tomorrow',
    '',
    '1764000000000',
  ])('rejects %j', (text) => {
    expect(() => parseInstant(text)).toThrow(InvalidDateError);
    expect(isInstant(text)).toBe(false);
  });
});
