import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/entitlement/store/index.js';
import { normaliseOrder, orderDifference, planImport } from '../../../src/entitlement/store/order-import.js';
import type { StoredOrder } from '../../../src/entitlement/store/store.js';
import type { Order } from '../../../src/entitlement/types.js';

const NOW = new Date('2027-01-01T00:00:00Z');
const initial: Order = { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 };
const renewal: Order = { id: 'o-2', kind: 'renewal', receivedAt: '2027-11-10T09:00:00+09:00', licenses: 50 };

function stored(
  order: Order,
  status: StoredOrder['status'],
  rejection: StoredOrder['rejection'] = null,
): StoredOrder {
  return { ...normaliseOrder(order), tenant: 'acme', importedAt: NOW, status, rejection };
}

describe('planImport', () => {
  it('inserts new orders with the verdicts of the whole history', () => {
    const plan = planImport('acme', [], [renewal, initial], NOW);
    expect(plan.inserts.map((o) => [o.id, o.status])).toEqual([
      ['o-2', 'accepted'],
      ['o-1', 'accepted'],
    ]);
    expect(plan.inserts[0]?.receivedAt).toBe('2027-11-10T00:00:00.000Z');
    expect(plan.statusUpdates).toEqual([]);
    expect(plan.result.changes).toEqual({ tenants: ['acme'], revokedKeys: [] });
  });

  it('updates the status of a stored order whose verdict changes', () => {
    const before = stored(renewal, 'rejected', { code: 'no_prior_support', message: 'x' });
    const plan = planImport('acme', [before], [initial], NOW);
    expect(plan.statusUpdates).toEqual([{ id: 'o-2', status: 'accepted', rejection: null }]);
    expect(plan.result.statusChanged).toEqual(['o-2']);
  });

  it('writes nothing and reports no change for an identical re-import', () => {
    const plan = planImport('acme', [stored(initial, 'accepted')], [initial, initial], NOW);
    expect(plan.inserts).toEqual([]);
    expect(plan.result).toMatchObject({ unchanged: ['o-1'], changes: { tenants: [], revokedKeys: [] } });
  });

  it('names the order and the differing field in order_conflict', () => {
    expect(() =>
      planImport('acme', [stored(initial, 'accepted')], [{ ...initial, kind: 'renewal' }], NOW),
    ).toThrow(expect.objectContaining({ code: 'order_conflict', message: expect.stringContaining('o-1') }));
    try {
      planImport('acme', [], [renewal, { ...renewal, licenses: 1 }], NOW);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toContain('appears twice');
    }
  });

  it('compares instants, not their spelling', () => {
    expect(orderDifference(initial, { ...initial, receivedAt: '2026-11-24T01:00:00.000Z' })).toBeNull();
    expect(orderDifference(initial, { ...initial, receivedAt: '2026-11-24T01:00:00.001Z' })).toBe(
      'receivedAt',
    );
    expect(
      orderDifference(initial, { ...initial, certificate: { start: '2026-12-01', end: '2027-11-30' } }),
    ).toBe('certificate');
  });

  it('propagates the rules’ validation errors for malformed orders', () => {
    expect(() => planImport('acme', [], [{ ...initial, licenses: 0 }], NOW)).toThrow(/licenses/);
    expect(() => planImport('acme', [], [{ ...initial, receivedAt: '2026-11-24 10:00' }], NOW)).toThrow();
  });
});
