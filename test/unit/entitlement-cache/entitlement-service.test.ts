// EntitlementService over an in-memory history source, the in-process bus and a fake clock:
// freshness bounds, negative caching, single-flight, store failure and recovery, invalidation.
import { describe, expect, it } from 'vitest';
import type { EntitlementCacheMetrics, TenantEvents } from '../../../src/entitlement/cache/index.js';
import { LocalTenantEvents } from '../../../src/entitlement/cache/index.js';
import { EntitlementService, EntitlementUnavailable } from '../../../src/entitlement/service/index.js';
import type { OrderHistory } from '../../../src/entitlement/types.js';
import type { Logger } from '../../../src/log/logger.js';
import { silentLogger } from '../../../src/log/logger.js';

/** 2027-05-25 12:00 JST. */
const NOW = Date.parse('2027-05-25T03:00:00Z');

class FakeHistories {
  readonly histories = new Map<string, OrderHistory>();
  calls = 0;
  failing = false;
  delayMs = 0;
  async orderHistory(tenant: string): Promise<OrderHistory | null> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new Error('store down (test)');
    return this.histories.get(tenant) ?? null;
  }
}

class Lines {
  readonly lines: { level: string; message: string }[] = [];
  readonly logger: Logger = {
    error: (message) => this.lines.push({ level: 'error', message }),
    warn: (message) => this.lines.push({ level: 'warn', message }),
    info: (message) => this.lines.push({ level: 'info', message }),
    debug: () => undefined,
    child: () => this.logger,
  };
}

function counting(): EntitlementCacheMetrics & { lookups: Record<string, number>; storeErrors: number } {
  const lookups: Record<string, number> = {};
  const m = {
    lookups,
    storeErrors: 0,
    cacheLookup(result: string) {
      lookups[result] = (lookups[result] ?? 0) + 1;
    },
    storeError() {
      m.storeErrors++;
    },
    redisError() {},
  };
  return m;
}

function setup(options: { events?: TenantEvents; graceDays?: number } = {}) {
  let now = NOW;
  const store = new FakeHistories();
  const events = options.events ?? new LocalTenantEvents(silentLogger);
  const log = new Lines();
  const metrics = counting();
  const service = new EntitlementService({
    store,
    events,
    logger: log.logger,
    metrics,
    clock: () => now,
    ...(options.graceDays !== undefined ? { graceDays: options.graceDays } : {}),
  });
  return {
    store,
    events,
    log,
    metrics,
    service,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const acme: OrderHistory = {
  tenant: 'acme',
  orders: [{ id: 'a-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 }],
};
/** Support certified to end today, 2027-05-25 (JST). */
const lastDay: OrderHistory = {
  tenant: 'lastday',
  orders: [
    {
      id: 'l-1',
      kind: 'initial',
      receivedAt: '2026-05-26T10:00:00+09:00',
      licenses: 3,
      certificate: { start: '2026-05-26', end: '2027-05-25' },
    },
  ],
};

describe('EntitlementService', () => {
  it('caches an active answer for 60 s, then asks the store again', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    const first = await t.service.get('acme');
    expect(first).toMatchObject({
      tenant: 'acme',
      active: true,
      state: 'active',
      licenses: 50,
      until: '2027-11-30',
    });
    expect(first.expiresAt.getTime()).toBe(NOW + 60_000);
    t.advance(59_999);
    await t.service.get('acme');
    expect(t.store.calls).toBe(1);
    t.advance(1);
    await t.service.get('acme');
    expect(t.store.calls).toBe(2);
    expect(t.metrics.lookups).toEqual({ miss: 2, hit: 1 });
  });

  it('peek answers from memory what get would, and nothing it would have to fetch', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    expect(t.service.peek('acme')).toBeUndefined();
    const fetched = await t.service.get('acme');
    expect(t.service.peek('acme')).toEqual(fetched);
    expect(t.metrics.lookups).toEqual({ miss: 1, hit: 1 });
    await t.events.publish({ tenant: 'acme', kind: 'orders' });
    expect(t.service.peek('acme')).toBeUndefined();
    await t.service.get('acme');
    t.advance(60_000);
    expect(t.service.peek('acme')).toBeUndefined();
    expect(t.store.calls).toBe(2);
  });

  it("never keeps an answer past the tenant's next state change", async () => {
    const t = setup();
    t.store.histories.set('lastday', lastDay);
    // Support ends at midnight JST; 10 s before it the answer may live only 10 s.
    const midnightJst = Date.parse('2027-05-25T15:00:00Z');
    t.advance(midnightJst - 10_000 - NOW);
    const before = await t.service.get('lastday');
    expect(before.state).toBe('active');
    expect(before.expiresAt.getTime()).toBe(midnightJst);
    t.advance(9_999);
    expect((await t.service.get('lastday')).state).toBe('active');
    expect(t.store.calls).toBe(1);
    t.advance(1);
    const after = await t.service.get('lastday');
    expect(after).toMatchObject({ active: false, state: 'expired' });
    expect(t.store.calls).toBe(2);
  });

  it('moves into grace at the period end when grace days are configured', async () => {
    const t = setup({ graceDays: 3 });
    t.store.histories.set('lastday', lastDay);
    t.advance(Date.parse('2027-05-25T15:00:00Z') - NOW);
    expect(await t.service.get('lastday')).toMatchObject({
      state: 'grace',
      active: true,
      until: '2027-05-28',
    });
  });

  it('caches negative answers briefly (5 s), unknown tenants included', async () => {
    const t = setup();
    const none = await t.service.get('ghost');
    // Never imported: its own state (issue 16 point 4), not 'none' (imported, nothing accepted).
    expect(none).toMatchObject({
      tenant: 'ghost',
      active: false,
      state: 'unknown',
      licenses: 0,
      until: null,
    });
    expect(none.expiresAt.getTime()).toBe(NOW + 5_000);
    t.advance(4_999);
    await t.service.get('ghost');
    expect(t.store.calls).toBe(1);
    expect(t.metrics.lookups.negative_hit).toBe(1);
    // The tenant appears (another node imported it without telling us): seen within 5 s.
    t.store.histories.set('ghost', { ...acme, tenant: 'ghost' });
    t.advance(1);
    expect((await t.service.get('ghost')).active).toBe(true);
  });

  it('makes one store query for concurrent misses of one tenant', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    t.store.histories.set('other', { ...acme, tenant: 'other' });
    t.store.delayMs = 30;
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => t.service.get('acme')),
      ...Array.from({ length: 5 }, () => t.service.get('other')),
    ]);
    expect(answers.every((a) => a.active)).toBe(true);
    expect(t.store.calls).toBe(2);
  });

  it('drops a tenant on a tenant-changed event', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    await t.service.get('acme');
    t.store.histories.set('acme', {
      ...acme,
      orders: [
        ...acme.orders,
        { id: 'a-2', kind: 'additional', receivedAt: '2027-05-01T10:00:00+09:00', licenses: 10 },
      ],
    });
    await t.events.publish({ tenant: 'acme', kind: 'orders' });
    expect((await t.service.get('acme')).licenses).toBe(60);
    expect(t.store.calls).toBe(2);
  });

  it('does not cache a load that an invalidation overtook', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    t.store.delayMs = 30;
    const inFlight = t.service.get('acme');
    await new Promise((r) => setTimeout(r, 5));
    await t.service.invalidate('acme');
    await inFlight;
    t.store.delayMs = 0;
    await t.service.get('acme');
    expect(t.store.calls).toBe(2);
  });

  it('serves cached answers while the store is down until they are stale, then throws EntitlementUnavailable', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    await t.service.get('acme');
    t.store.failing = true;
    t.advance(60_000); // no longer fresh
    const stale = await t.service.get('acme');
    expect(stale.active).toBe(true);
    expect(t.metrics.lookups.stale).toBe(1);
    t.advance(60_000 + 300_000 - 60_000 - 1); // just before the stale deadline (fresh 60 s + 5 min)
    expect((await t.service.get('acme')).active).toBe(true);
    t.advance(1);
    await expect(t.service.get('acme')).rejects.toBeInstanceOf(EntitlementUnavailable);
    // A tenant never seen fails closed at once.
    await expect(t.service.get('ghost')).rejects.toMatchObject({ code: 'entitlement_unavailable' });
    expect(t.log.lines.filter((l) => l.message.includes('store unreachable'))).toHaveLength(1);
    expect(t.metrics.storeErrors).toBeGreaterThanOrEqual(1);

    // The store comes back: answers resume without a restart (after the 1 s retry pause).
    t.store.failing = false;
    t.advance(1_000);
    expect((await t.service.get('acme')).active).toBe(true);
    expect(t.log.lines.filter((l) => l.message.includes('reachable again'))).toHaveLength(1);
  });

  it('does not wait on a dead store again within a second of a failure', async () => {
    const t = setup();
    t.store.failing = true;
    await expect(t.service.get('a')).rejects.toBeInstanceOf(EntitlementUnavailable);
    await expect(t.service.get('b')).rejects.toBeInstanceOf(EntitlementUnavailable);
    expect(t.store.calls).toBe(1);
    t.advance(1_000);
    await expect(t.service.get('b')).rejects.toBeInstanceOf(EntitlementUnavailable);
    expect(t.store.calls).toBe(2);
  });

  it('refreshes answers older than 5 s while the fleet bus is disconnected', async () => {
    const bus = new LocalTenantEvents(silentLogger);
    const disconnected: TenantEvents = {
      connected: false,
      publish: (change) => bus.publish(change),
      subscribe: (listener) => bus.subscribe(listener),
      onResync: (listener) => bus.onResync(listener),
      close: () => bus.close(),
    };
    const t = setup({ events: disconnected });
    t.store.histories.set('acme', acme);
    await t.service.get('acme');
    t.advance(4_999);
    await t.service.get('acme');
    expect(t.store.calls).toBe(1);
    t.advance(1);
    await t.service.get('acme');
    expect(t.store.calls).toBe(2);
  });

  it('drops every cached answer on a bus resync', async () => {
    const t = setup();
    t.store.histories.set('acme', acme);
    await t.service.get('acme');
    t.service.clearLocal();
    await t.service.get('acme');
    expect(t.store.calls).toBe(2);
  });
});
