// The reissue-request gauges read their source at scrape time, at most once per refresh interval
// (a fleet scraped every few seconds must not count the PostgreSQL table on every scrape), and
// keep their last values when a read fails.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerReissueRequestGauges } from '../../../src/metrics/reissue-request-gauges.js';

async function values(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) out[m.name] = Number(m.values[0]?.value);
  return out;
}

describe('reissue-request gauges', () => {
  it('reads the store at scrape time, at most once per refresh interval, and keeps values on failure', async () => {
    let now = 1_000_000;
    let reads = 0;
    let answer: { pending: number; overdue: number } | Error = { pending: 3, overdue: 1 };
    const errors: unknown[] = [];
    const registry = new Registry();
    registerReissueRequestGauges(
      registry,
      async () => {
        reads++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      { clock: () => now, refreshMs: 15_000, onError: (e) => errors.push(e) },
    );
    expect(await values(registry)).toEqual({
      icegate_reissue_requests_pending: 3,
      icegate_reissue_requests_overdue: 1,
    });
    expect(reads).toBe(1);
    answer = { pending: 2, overdue: 2 };
    now += 14_999;
    expect((await values(registry)).icegate_reissue_requests_overdue).toBe(1);
    expect(reads).toBe(1);
    now += 1;
    expect(await values(registry)).toEqual({
      icegate_reissue_requests_pending: 2,
      icegate_reissue_requests_overdue: 2,
    });
    expect(reads).toBe(2);
    answer = new Error('store down');
    now += 15_000;
    expect((await values(registry)).icegate_reissue_requests_overdue).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
