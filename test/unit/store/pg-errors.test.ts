import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/entitlement/store/index.js';
import { mapPgError } from '../../../src/entitlement/store/pg-errors.js';
import { checkSchemaName, quoteIdentifier } from '../../../src/entitlement/store/pg-migrate.js';

function pgError(fields: Record<string, string>): Error {
  return Object.assign(new Error(fields['message'] ?? 'pg error'), fields);
}

describe('mapPgError', () => {
  it.each([
    [{ code: '23505', constraint: 'license_keys_pkey' }, 'key_conflict'],
    [{ code: '23505', constraint: 'license_keys_one_active' }, 'active_key_exists'],
    [{ code: '23505', constraint: 'orders_pkey' }, 'order_conflict'],
    [{ code: '23503', constraint: 'license_keys_tenant_id_fkey' }, 'unknown_tenant'],
    [{ code: 'ECONNREFUSED' }, 'store_unavailable'],
    [{ code: '57P01' }, 'store_unavailable'],
    [{ code: '08006' }, 'store_unavailable'],
    [{ message: 'Connection terminated unexpectedly' }, 'store_unavailable'],
    [{ message: 'timeout exceeded when trying to connect' }, 'store_unavailable'],
  ])('maps %j to %s', (fields, code) => {
    const original = pgError(fields);
    const mapped = mapPgError(original);
    expect(mapped).toBeInstanceOf(StoreError);
    expect((mapped as StoreError).code).toBe(code);
    expect((mapped as StoreError).cause).toBe(original);
  });

  it('leaves other errors alone', () => {
    const other = pgError({ code: '42601', message: 'syntax error' });
    expect(mapPgError(other)).toBe(other);
    const store = new StoreError('unknown_key', 'x');
    expect(mapPgError(store)).toBe(store);
  });
});

describe('schema names', () => {
  it('accepts plain identifiers and refuses the rest', () => {
    for (const ok of ['public', 'icegate', 'test_store_ab12', '_x'])
      expect(() => checkSchemaName(ok)).not.toThrow();
    for (const bad of ['', '1abc', 'a-b', 'a"b', 'x'.repeat(64), 'a b']) {
      expect(() => checkSchemaName(bad)).toThrow(expect.objectContaining({ code: 'store_misconfigured' }));
    }
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});
