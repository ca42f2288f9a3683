import { describe, expect, it } from 'vitest';
import {
  checkUsageRange,
  checkUsageRows,
  isCalendarDate,
} from '../../../src/entitlement/store/usage-rows.js';

describe('usage rows', () => {
  it('knows calendar dates', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2027-02-29')).toBe(false);
    expect(isCalendarDate('2027-13-01')).toBe(false);
    expect(isCalendarDate('2027-1-01')).toBe(false);
  });

  it('accepts good rows and names the problem of bad ones', () => {
    expect(() =>
      checkUsageRows([{ tenant: 'a', day: '2027-01-01', bytesRelayed: 0, allocationSeconds: 0 }]),
    ).not.toThrow();
    expect(() =>
      checkUsageRows([
        { tenant: 'a', day: '2027-01-01', bytesRelayed: Number.MAX_SAFE_INTEGER + 2, allocationSeconds: 0 },
      ]),
    ).toThrow(
      expect.objectContaining({ code: 'invalid_usage', message: expect.stringContaining('bytesRelayed') }),
    );
    expect(() => checkUsageRange('2027-01-01', 'tomorrow')).toThrow(
      expect.objectContaining({ code: 'invalid_usage' }),
    );
  });
});
