// Issue 18 point 7: after a Redis outage (the fleet events resynchronise), a node reads the keys of
// its live allocations again, so allocations of a key revoked during the outage end then, not at
// their next Refresh. The relay, events and key source are stubs; the enforcer is real.
import { describe, expect, it } from 'vitest';
import { Enforcement } from '../../../src/composition/enforcement.js';
import type { RelayObserver } from '../../../src/composition/relay-observer.js';
import type { TenantChange } from '../../../src/entitlement/cache/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import type { AllocationView } from '../../../src/turn/index.js';

const observer = { setPolicyReason: () => {}, clearPolicyReason: () => {} } as unknown as RelayObserver;

function allocation(id: number, keyId: string | null): AllocationView {
  return {
    id,
    tenant: 'acme',
    opaque: keyId === null ? undefined : `${keyId}.abcdefghijkl`,
  } as AllocationView;
}

describe('enforcement after a fleet resync', () => {
  it('closes the allocations of a key revoked while Redis was down, and only those', async () => {
    let live = [
      allocation(1, 'lk_old'),
      allocation(2, 'lk_old'),
      allocation(3, 'lk_new'),
      allocation(4, null),
    ];
    const closed: number[] = [];
    let resync: (() => void) | null = null;
    const enforcement = new Enforcement({
      relay: {
        listAllocations: (tenant) => live.filter((a) => tenant === undefined || a.tenant === tenant),
        closeAllocation: (id) => {
          closed.push(id);
          live = live.filter((a) => a.id !== id);
          return true;
        },
        closeAllocationsOfTenant: () => 0,
      },
      events: {
        subscribe: (_listener: (change: TenantChange) => void) => () => {},
        onResync: (listener: () => void) => {
          resync = listener;
          return () => {};
        },
      },
      entitlements: {
        get: async () => ({
          tenant: 'acme',
          active: true,
          state: 'active',
          licenses: 1,
          until: '2099-12-31',
          expiresAt: new Date(Date.now() + 60_000),
        }),
      },
      // The store says lk_old was revoked (the revocation event was published while this node
      // could not hear it).
      keys: {
        lookup: async (keyId) => ({ tenant: 'acme', revokedAt: keyId === 'lk_old' ? new Date() : null }),
      },
      observer,
      logger: silentLogger,
    });
    expect(resync).not.toBeNull();
    resync!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed.sort()).toEqual([1, 2]);
    expect(live.map((a) => a.id)).toEqual([3, 4]);
    enforcement.close();
  });

  it('keeps allocations whose key cannot be read (unknown is not revoked)', async () => {
    const closed: number[] = [];
    const enforcement = new Enforcement({
      relay: {
        listAllocations: () => [allocation(1, 'lk_old')],
        closeAllocation: (id) => {
          closed.push(id);
          return true;
        },
        closeAllocationsOfTenant: () => 0,
      },
      events: { subscribe: () => () => {} },
      entitlements: { get: async () => Promise.reject(new Error('store down')) },
      keys: { lookup: async () => Promise.reject(new Error('store down')) },
      observer,
      logger: silentLogger,
    });
    expect(await enforcement.resync()).toBe(0);
    expect(closed).toEqual([]);
    enforcement.close();
  });
});
