// The accountant over an in-memory store: what each flush writes, that a failed write is kept
// and retried (never lost, never written twice), reports, and the final flush at close.
import { describe, expect, it } from 'vitest';
import type { EntitlementStore, UsageRow } from '../../../src/entitlement/store/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import { UsageAccountant } from '../../../src/usage/index.js';

class MemoryUsageStore implements Pick<EntitlementStore, 'addUsage' | 'usage'> {
  readonly writes: UsageRow[][] = [];
  readonly rows = new Map<string, UsageRow>();
  failing = false;
  async addUsage(rows: readonly UsageRow[]): Promise<void> {
    if (this.failing) throw new Error('store down (test)');
    this.writes.push(rows.map((r) => ({ ...r })));
    for (const r of rows) {
      const key = `${r.day}|${r.tenant}`;
      const before = this.rows.get(key);
      this.rows.set(key, {
        ...r,
        bytesRelayed: (before?.bytesRelayed ?? 0) + r.bytesRelayed,
        allocationSeconds: (before?.allocationSeconds ?? 0) + r.allocationSeconds,
      });
    }
  }
  async usage(from: string, to: string): Promise<UsageRow[]> {
    if (this.failing) throw new Error('store down (test)');
    return [...this.rows.values()]
      .filter((r) => r.day >= from && r.day <= to)
      .sort((a, b) => (a.day + a.tenant < b.day + b.tenant ? -1 : 1));
  }
}

// 2026-11-24 12:00 JST
const NOON = Date.parse('2026-11-24T03:00:00Z');

function setup() {
  const store = new MemoryUsageStore();
  let now = NOON;
  const storeErrors: unknown[] = [];
  const accountant = new UsageAccountant({
    store,
    logger: silentLogger,
    clock: () => now,
    onStoreError: (err) => storeErrors.push(err),
  });
  return { store, accountant, storeErrors, setNow: (ms: number) => (now = ms) };
}

describe('UsageAccountant', () => {
  it('writes each count once, however often it flushes', async () => {
    const { store, accountant } = setup();
    accountant.addTraffic('acme', 1200, NOON);
    accountant.addTraffic('acme', 300, NOON + 1000);
    accountant.addAllocationTime('acme', 30, NOON + 1000);
    expect(await accountant.flush()).toBe(true);
    expect(await accountant.flush()).toBe(true);
    expect(store.writes).toEqual([
      [{ tenant: 'acme', day: '2026-11-24', bytesRelayed: 1500, allocationSeconds: 30 }],
    ]);
    accountant.addTraffic('acme', 1, NOON + 2000);
    await Promise.all([accountant.flush(), accountant.flush()]);
    expect(await store.usage('2026-11-24', '2026-11-24')).toEqual([
      { tenant: 'acme', day: '2026-11-24', bytesRelayed: 1501, allocationSeconds: 30 },
    ]);
  });

  it('splits allocation time that crosses midnight JST between the two days', async () => {
    const { store, accountant } = setup();
    const midnight = Date.parse('2026-11-24T15:00:00Z');
    accountant.addAllocationTime('acme', 90, midnight + 30_000);
    await accountant.flush(true);
    expect(await store.usage('2026-11-24', '2026-11-25')).toEqual([
      { tenant: 'acme', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 60 },
      { tenant: 'acme', day: '2026-11-25', bytesRelayed: 0, allocationSeconds: 30 },
    ]);
  });

  it('keeps counts through a store outage and writes them once it is back', async () => {
    const { store, accountant, storeErrors } = setup();
    accountant.addTraffic('acme', 500, NOON);
    store.failing = true;
    expect(await accountant.flush()).toBe(false);
    accountant.addTraffic('acme', 500, NOON);
    expect(await accountant.flush()).toBe(false);
    expect(storeErrors).toHaveLength(2);
    store.failing = false;
    expect(await accountant.flush()).toBe(true);
    expect(store.writes).toEqual([
      [{ tenant: 'acme', day: '2026-11-24', bytesRelayed: 1000, allocationSeconds: 0 }],
    ]);
  });

  it('reports from the store after flushing its own counts; live falls back to the store without Redis', async () => {
    const { accountant } = setup();
    accountant.addTraffic('acme', 42, NOON);
    accountant.addAllocationTime('acme', 2.4, NOON);
    const answer = await accountant.report('2026-11-24', '2026-11-24', 'live');
    expect(answer).toEqual({
      source: 'store',
      rows: [{ tenant: 'acme', day: '2026-11-24', bytesRelayed: 42, allocationSeconds: 2 }],
    });
    expect(accountant.hasLiveView).toBe(false);
  });

  it('writes the rest, fractions rounded, at close and ignores counts after it', async () => {
    const { store, accountant } = setup();
    accountant.start();
    accountant.addAllocationTime('acme', 0.7, NOON);
    await accountant.close();
    accountant.addTraffic('acme', 99, NOON);
    await accountant.close();
    expect(await store.usage('2026-11-24', '2026-11-24')).toEqual([
      { tenant: 'acme', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 1 },
    ]);
  });

  it('closes yesterday at the first flush of a new day', async () => {
    const { store, accountant, setNow } = setup();
    accountant.addAllocationTime('acme', 10.6, NOON);
    await accountant.flush();
    expect((await store.usage('2026-11-24', '2026-11-24'))[0]?.allocationSeconds).toBe(10);
    setNow(NOON + 86_400_000);
    await accountant.flush();
    expect((await store.usage('2026-11-24', '2026-11-24'))[0]?.allocationSeconds).toBe(11);
  });
});
