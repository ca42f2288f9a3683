// Issue 15 point 5: the order-history rules refuse what a store cannot hold, naming the field
// (admin API and `icegate import` both validate with parseOrderHistory).
import { describe, expect, it } from 'vitest';
import { isValidTenantId } from '../../../src/auth/index.js';
import { OrderHistoryError, parseOrderHistory } from '../../../src/entitlement/rules/index.js';

const order = { id: 'o-1', kind: 'initial', receivedAt: '2027-01-12T10:00:00+09:00', licenses: 3 };

function problem(history: unknown): string {
  try {
    parseOrderHistory(history);
    return 'ok';
  } catch (err) {
    if (!(err instanceof OrderHistoryError)) throw err;
    return err.message;
  }
}

describe('parseOrderHistory: storable values', () => {
  it.each([
    ['an order id with NUL', { id: 'a\u0000b' }, /orders\[0\]\.id \(order a.b\): must not contain control/],
    ['an order id with an unpaired surrogate', { id: 'x\ud800' }, /orders\[0\]\.id.*unpaired surrogates/],
    ['an order id of 201 characters', { id: 'x'.repeat(201) }, /orders\[0\]\.id.*at most 200/],
    [
      'licenses of 2^31',
      { licenses: 2 ** 31 },
      /orders\[0\]\.licenses \(order o-1\): must be at most 1000000/,
    ],
    ['licenses of 1000001', { licenses: 1_000_001 }, /orders\[0\]\.licenses/],
    [
      'a receipt in year 0000',
      { receivedAt: '0000-01-01T00:00:00Z' },
      /orders\[0\]\.receivedAt.*between 1970-01-01/,
    ],
    ['a receipt in 1969 (UTC)', { receivedAt: '1970-01-01T08:59:59+09:00' }, /orders\[0\]\.receivedAt/],
    [
      'a certificate dated year 0000',
      { certificate: { start: '0000-01-01', end: '2027-12-31' } },
      /orders\[0\]\.certificate\.start.*between 1970-01-01 and 9999-12-31, got 0000-01-01/,
    ],
  ])('refuses %s, naming the field', (_what, change, expected) => {
    expect(problem({ tenant: 'acme', orders: [{ ...order, ...change }] })).toMatch(expected);
  });

  it.each(['.', '..'])('refuses the tenant id %j, naming the field', (tenant) => {
    expect(problem({ tenant, orders: [order] })).toMatch(/^invalid order history: tenant: must not be/);
    expect(isValidTenantId(tenant)).toBe(false);
  });

  it('accepts the edges of the ranges', () => {
    expect(
      problem({
        tenant: '...',
        orders: [
          { ...order, id: 'é-ü-日本-😀', licenses: 1_000_000, receivedAt: '1970-01-01T00:00:00Z' },
          { ...order, id: 'o-2', certificate: { start: '1970-01-01', end: '9999-12-31' } },
        ],
      }),
    ).toBe('ok');
    expect(isValidTenantId('a.b')).toBe(true);
  });
});
