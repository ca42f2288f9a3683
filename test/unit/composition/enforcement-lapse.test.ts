// Issue 15 point 3: support that lapses at a known instant (00:00 JST after its last day) is cut at
// that instant on every node, not by the next 30 s sweep. Injected clock (vitest fake timers move
// Date.now and setTimeout together); the real EntitlementService and support rules over an
// in-memory order history; the relay is a stub that records closes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Enforcement } from '../../../src/composition/enforcement.js';
import type { RelayObserver } from '../../../src/composition/relay-observer.js';
import { LocalTenantEvents } from '../../../src/entitlement/cache/local-tenant-events.js';
import { EntitlementService } from '../../../src/entitlement/service/index.js';
import type { OrderHistory } from '../../../src/entitlement/types.js';
import { silentLogger } from '../../../src/log/logger.js';
import type { AllocationView } from '../../../src/turn/index.js';

// An initial order received 2025-12-10 JST: support from then through 2026-12-31 (DOMAIN.md), so
// relaying must stop at 2027-01-01 00:00 JST.
const HISTORY: OrderHistory = {
  tenant: 'acme',
  orders: [{ id: 'o-1', kind: 'initial', receivedAt: '2025-12-10T10:00:00+09:00', licenses: 2 }],
};
const LAPSE = Date.parse('2027-01-01T00:00:00+09:00');

/** A relay with `count` allocations of acme that records what enforcement closes. */
function stubRelay(count: number) {
  let live = Array.from({ length: count }, (_, i) => ({ id: i + 1, tenant: 'acme' }) as AllocationView);
  const closedAt: number[] = [];
  return {
    closedAt,
    listAllocations: (tenant?: string) => live.filter((a) => tenant === undefined || a.tenant === tenant),
    closeAllocation: () => false,
    closeAllocationsOfTenant: (tenant: string) => {
      const before = live.length;
      live = live.filter((a) => a.tenant !== tenant);
      if (before > live.length) closedAt.push(Date.now());
      return before - live.length;
    },
  };
}

const observer = { setPolicyReason: () => {}, clearPolicyReason: () => {} } as unknown as RelayObserver;

function setup(count = 2) {
  const events = new LocalTenantEvents(silentLogger);
  const service = new EntitlementService({
    store: { orderHistory: async () => HISTORY },
    events,
    logger: silentLogger,
  });
  const relay = stubRelay(count);
  const enforcement = new Enforcement({
    relay,
    events,
    entitlements: service,
    observer,
    logger: silentLogger,
    clock: Date.now,
  });
  return { relay, enforcement, service };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('support lapse at a known instant', () => {
  it('closes the tenant at the lapse instant, not at the next 30 s sweep', async () => {
    // The node started 12 s before the lapse, so its sweeps fall 18 s after it.
    vi.setSystemTime(LAPSE - 12_000);
    const { relay, enforcement } = setup();
    await vi.advanceTimersByTimeAsync(2_000);
    // An allocation made 10 s before midnight: the check its creation triggers finds support active.
    enforcement.events().allocationCreated({ id: 1, tenant: 'acme' } as AllocationView);
    await vi.advanceTimersByTimeAsync(9_900);
    expect(relay.closedAt).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(relay.closedAt).toHaveLength(1);
    expect(relay.closedAt[0]! - LAPSE).toBeGreaterThanOrEqual(0);
    expect(relay.closedAt[0]! - LAPSE).toBeLessThan(1_000);
    enforcement.close();
  });

  it('keeps re-checking a tenant whose answer runs out long before its lapse, then cuts at the lapse', async () => {
    // Answers live 60 s at most: the node re-checks every minute and still meets the instant.
    vi.setSystemTime(LAPSE - 5 * 60_000 - 1_234);
    const { relay, enforcement } = setup();
    expect(await enforcement.checkTenant('acme')).toBe(0);
    await vi.advanceTimersByTimeAsync(5 * 60_000 + 1_234 - 100);
    expect(relay.closedAt).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(relay.closedAt).toHaveLength(1);
    expect(relay.closedAt[0]! - LAPSE).toBeLessThan(1_000);
    enforcement.close();
  });

  it('sets no re-check for a tenant without allocations here', async () => {
    vi.setSystemTime(LAPSE - 10_000);
    const { relay, enforcement } = setup(0);
    expect(await enforcement.checkTenant('acme')).toBe(0);
    expect(vi.getTimerCount()).toBe(1); // the sweep alone
    await vi.advanceTimersByTimeAsync(20_000);
    expect(relay.closedAt).toEqual([]);
    enforcement.close();
  });
});
