import { describe, expect, it } from 'vitest';
import type { UsageRow } from '../../../src/entitlement/store/index.js';
import {
  buildUsageReport,
  mergeUsageMax,
  parseUsageRange,
  UsageRangeError,
  usageCsv,
} from '../../../src/usage/index.js';

const row = (day: string, tenant: string, bytesRelayed: number, allocationSeconds: number): UsageRow => ({
  day,
  tenant,
  bytesRelayed,
  allocationSeconds,
});

describe('parseUsageRange', () => {
  it('accepts one day, a month and a leap year', () => {
    expect(parseUsageRange('2026-11-24', '2026-11-24')).toEqual({ from: '2026-11-24', to: '2026-11-24' });
    expect(parseUsageRange('2026-11-01', '2026-11-30').to).toBe('2026-11-30');
    expect(parseUsageRange('2028-01-01', '2028-12-31').from).toBe('2028-01-01');
  });

  it.each([
    [undefined, '2026-11-24', /from: expected one YYYY-MM-DD/],
    ['2026-11-24', ['2026-11-24', '2026-11-25'], /to: expected one YYYY-MM-DD/],
    ['2026-02-30', '2026-03-01', /from: .*2026-02-30/],
    ['2026-11-25', '2026-11-24', /from \(2026-11-25\) is after to \(2026-11-24\)/],
    ['2026-01-01', '2027-01-02', /367 days; at most 366/],
  ])('refuses from=%j to=%j', (from, to, message) => {
    expect(() => parseUsageRange(from, to)).toThrow(UsageRangeError);
    expect(() => parseUsageRange(from, to)).toThrow(message);
  });
});

describe('mergeUsageMax', () => {
  it('keeps the larger of each counter per tenant and day, never the sum', () => {
    const store = [row('2026-11-24', 'a', 100, 50), row('2026-11-24', 'b', 7, 7)];
    const live = [row('2026-11-24', 'a', 150, 40), row('2026-11-25', 'a', 9, 1)];
    expect(mergeUsageMax(store, live)).toEqual([
      row('2026-11-24', 'a', 150, 50),
      row('2026-11-24', 'b', 7, 7),
      row('2026-11-25', 'a', 9, 1),
    ]);
  });
});

describe('buildUsageReport and usageCsv', () => {
  const rows = [
    row('2026-11-24', 'acme', 1000, 60),
    row('2026-11-24', 'beta', 5, 1),
    row('2026-11-25', 'acme', 24, 3),
  ];

  it('adds per-tenant totals', () => {
    const report = buildUsageReport('2026-11-24', '2026-11-25', 'store', rows);
    expect(report).toEqual({
      from: '2026-11-24',
      to: '2026-11-25',
      source: 'store',
      rows,
      totals: [
        { tenant: 'acme', bytesRelayed: 1024, allocationSeconds: 63 },
        { tenant: 'beta', bytesRelayed: 5, allocationSeconds: 1 },
      ],
    });
  });

  it('writes RFC 4180 CSV with a header and CRLF line ends', () => {
    expect(usageCsv(rows)).toBe(
      'day,tenant,bytes_relayed,allocation_seconds\r\n' +
        '2026-11-24,acme,1000,60\r\n2026-11-24,beta,5,1\r\n2026-11-25,acme,24,3\r\n',
    );
    expect(usageCsv([])).toBe('day,tenant,bytes_relayed,allocation_seconds\r\n');
    expect(usageCsv([row('2026-11-24', 'we"ird,one', 1, 1)])).toContain('2026-11-24,"we""ird,one",1,1\r\n');
  });
});
