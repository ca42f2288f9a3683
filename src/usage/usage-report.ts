// The per-tenant usage report (issue 6) as the admin API and the CLI print it: the range check,
// per-tenant totals, the JSON body and the CSV text. One module, so both print the same thing.
import { isJstDate, startOfJstDay } from '../entitlement/rules/index.js';
import type { UsageRow } from '../entitlement/store/index.js';
import type { JstDate } from '../entitlement/types.js';
import { compareUsageRows } from './usage-ledger.js';

/** Where a report's numbers come from: the store (flushed) or the fleet's live view in Redis. */
export type UsageSource = 'store' | 'live';

/** Longest report, in days: a year, leap or not. */
export const MAX_REPORT_DAYS = 366;

/** A range or option of a usage report that cannot be answered; `code` is stable. */
export class UsageRangeError extends Error {
  override readonly name = 'UsageRangeError';
  readonly code = 'invalid_usage_range';
}

/** One tenant's sums over the report's range. */
export interface UsageTotal {
  tenant: string;
  bytesRelayed: number;
  allocationSeconds: number;
}

/** The report body of `GET /v1/admin/usage` and `icegate usage --format json`. */
export interface UsageReport {
  from: JstDate;
  to: JstDate;
  source: UsageSource;
  rows: UsageRow[];
  totals: UsageTotal[];
}

/** Checks `from..to` (JST dates, from <= to, at most MAX_REPORT_DAYS days); throws UsageRangeError. */
export function parseUsageRange(from: unknown, to: unknown): { from: JstDate; to: JstDate } {
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (typeof value !== 'string' || !isJstDate(value)) {
      throw new UsageRangeError(
        `${name}: expected one YYYY-MM-DD date (JST), got ${JSON.stringify(value ?? null)}`,
      );
    }
  }
  const first = from as JstDate;
  const last = to as JstDate;
  const days = (startOfJstDay(last).getTime() - startOfJstDay(first).getTime()) / 86_400_000 + 1;
  if (days < 1) throw new UsageRangeError(`from (${first}) is after to (${last})`);
  if (days > MAX_REPORT_DAYS) {
    throw new UsageRangeError(`the range spans ${days} days; at most ${MAX_REPORT_DAYS} per report`);
  }
  return { from: first, to: last };
}

/**
 * Per (tenant, day), the larger of each counter. The store and the live view both fall short of
 * the truth (the store by what nodes have not flushed yet, Redis by what it missed while down
 * or has expired), so the larger is the better estimate, and adding them would count twice.
 */
export function mergeUsageMax(a: readonly UsageRow[], b: readonly UsageRow[]): UsageRow[] {
  const merged = new Map<string, UsageRow>();
  for (const row of [...a, ...b]) {
    const key = `${row.day}\n${row.tenant}`;
    const seen = merged.get(key);
    merged.set(
      key,
      seen === undefined
        ? { ...row }
        : {
            ...seen,
            bytesRelayed: Math.max(seen.bytesRelayed, row.bytesRelayed),
            allocationSeconds: Math.max(seen.allocationSeconds, row.allocationSeconds),
          },
    );
  }
  return [...merged.values()].sort(compareUsageRows);
}

/** The report of `rows` over `from..to`, with per-tenant totals sorted by tenant. */
export function buildUsageReport(
  from: JstDate,
  to: JstDate,
  source: UsageSource,
  rows: readonly UsageRow[],
): UsageReport {
  const totals = new Map<string, UsageTotal>();
  for (const row of rows) {
    const total = totals.get(row.tenant) ?? { tenant: row.tenant, bytesRelayed: 0, allocationSeconds: 0 };
    total.bytesRelayed += row.bytesRelayed;
    total.allocationSeconds += row.allocationSeconds;
    totals.set(row.tenant, total);
  }
  return {
    from,
    to,
    source,
    rows: rows.map((r) => ({
      day: r.day,
      tenant: r.tenant,
      bytesRelayed: r.bytesRelayed,
      allocationSeconds: r.allocationSeconds,
    })),
    totals: [...totals.values()].sort((x, y) => (x.tenant < y.tenant ? -1 : x.tenant > y.tenant ? 1 : 0)),
  };
}

/** The CSV header line's columns. */
export const USAGE_CSV_COLUMNS = ['day', 'tenant', 'bytes_relayed', 'allocation_seconds'] as const;

// RFC 4180 section 2: a field with a comma, quote or line break is quoted, quotes doubled.
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV (CRLF line ends, a header line) of the rows: one line per tenant and day. */
export function usageCsv(rows: readonly UsageRow[]): string {
  const lines = [USAGE_CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push([r.day, r.tenant, r.bytesRelayed, r.allocationSeconds].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
