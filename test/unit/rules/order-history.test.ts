import { describe, expect, it } from 'vitest';
import { OrderHistoryError } from '../../../src/entitlement/rules/errors.js';
import { parseOrderHistory } from '../../../src/entitlement/rules/order-history.js';
import { computeTimeline } from '../../../src/entitlement/rules/timeline.js';
import type { OrderHistory } from '../../../src/entitlement/types.js';

const good = {
  tenant: 'acme',
  orders: [
    { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
    {
      id: 'o-2',
      kind: 'renewal',
      receivedAt: '2027-11-10T10:00:00+09:00',
      licenses: 60,
      certificate: { start: '2027-12-01', end: '2028-11-30' },
    },
  ],
};

function withOrder(patch: Record<string, unknown>, index = 1): unknown {
  const orders = good.orders.map((o, i) => (i === index ? { ...o, ...patch } : o));
  return { ...good, orders };
}

function errorOf(json: unknown): OrderHistoryError {
  try {
    parseOrderHistory(json);
  } catch (err) {
    expect(err).toBeInstanceOf(OrderHistoryError);
    return err as OrderHistoryError;
  }
  throw new Error('expected parseOrderHistory to throw');
}

describe('parseOrderHistory', () => {
  it('accepts a valid history unchanged', () => {
    expect(parseOrderHistory(good)).toEqual(good);
  });

  it.each([
    [
      'a bare local receivedAt',
      { receivedAt: '2027-11-10T10:00:00' },
      'orders[1].receivedAt (order o-2)',
      /offset/,
    ],
    [
      'an impossible date',
      { receivedAt: '2027-02-29T10:00:00+09:00' },
      'orders[1].receivedAt',
      /calendar date/,
    ],
    ['an unknown kind', { kind: 'upgrade' }, 'orders[1].kind (order o-2)', /must be one of initial/],
    ['zero licenses', { licenses: 0 }, 'orders[1].licenses (order o-2)', /positive integer/],
    ['fractional licenses', { licenses: 1.5 }, 'orders[1].licenses', /positive integer/],
    ['licenses as a string', { licenses: '10' }, 'orders[1].licenses', /positive integer/],
    [
      'a certificate ending before it starts',
      { certificate: { start: '2028-12-01', end: '2028-11-30' } },
      'orders[1].certificate.end (order o-2)',
      /before it starts/,
    ],
    [
      'a certificate date that is not a date',
      { certificate: { start: '2027-12-01', end: '2028-02-30' } },
      'orders[1].certificate.end',
      /not a calendar date/,
    ],
    [
      'a misspelt field',
      { certifcate: { start: '2027-12-01', end: '2028-11-30' } },
      'orders[1]',
      /certifcate/,
    ],
    ['an empty id', { id: '' }, 'orders[1].id', /non-empty/],
  ])('names the order and field for %s', (_name, patch, where, problem) => {
    const err = errorOf(withOrder(patch));
    expect(err.code).toBe('ICEGATE_ORDER_HISTORY_INVALID');
    expect(err.message).toContain(where);
    expect(err.message).toMatch(problem);
  });

  it('refuses duplicate order ids, naming both places', () => {
    const err = errorOf(withOrder({ id: 'o-1' }));
    expect(err.message).toContain('orders[1].id (order o-1): duplicate order id (also orders[0])');
  });

  it.each([
    ['not an object', [], /JSON object/],
    ['no tenant', { orders: [] }, /tenant/],
    ['orders not an array', { tenant: 'acme', orders: {} }, /orders: must be an array/],
    ['an order that is not an object', { tenant: 'acme', orders: [42] }, /orders\[0\]: must be an object/],
  ])('refuses %s', (_name, json, problem) => {
    expect(errorOf(json).message).toMatch(problem);
  });

  it('reports several problems in one line', () => {
    const err = errorOf(withOrder({ licenses: -1, kind: 'x' }));
    expect(err.issues).toHaveLength(2);
    expect(err.message).not.toContain('\n');
  });
});

describe('computeTimeline validates its input', () => {
  it('throws OrderHistoryError for a malformed in-memory history', () => {
    const bad = { tenant: 'acme', orders: [{ id: 'x', kind: 'initial', receivedAt: 'soon', licenses: 1 }] };
    expect(() => computeTimeline(bad as OrderHistory)).toThrow(OrderHistoryError);
    expect(() => computeTimeline(bad as OrderHistory)).toThrow(/orders\[0\]\.receivedAt \(order x\)/);
  });

  it('ignores fields the rules do not use (a store may carry more)', () => {
    const stored = {
      tenant: 'acme',
      orders: [
        { id: 'x', kind: 'initial', receivedAt: '2026-12-01T10:00:00+09:00', licenses: 1, importedAt: 'now' },
      ],
    };
    expect(computeTimeline(stored as OrderHistory).periods).toHaveLength(1);
  });
});
