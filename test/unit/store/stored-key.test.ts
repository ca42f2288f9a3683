import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { StoredKey } from '../../../src/entitlement/store/index.js';

const key = new StoredKey({
  keyId: 'lk_abcdefghijklmnopqrst',
  tenant: 'acme',
  serverIdentity: 'neo.example.jp',
  secret: 'TOP-SECRET-VALUE',
  issuedAt: new Date('2027-01-01T00:00:00Z'),
  revokedAt: null,
  replacedBy: null,
});

describe('StoredKey', () => {
  it('reads its secret but never serialises or prints it', () => {
    expect(key.secret).toBe('TOP-SECRET-VALUE');
    for (const text of [
      JSON.stringify(key),
      JSON.stringify([key, { key }]),
      inspect(key),
      inspect({ a: { b: { c: key } } }, { depth: null }),
      inspect(key, { showHidden: true }),
      `${JSON.stringify(Object.entries(key))}`,
      JSON.stringify({ ...key }),
    ]) {
      expect(text).not.toContain('TOP-SECRET-VALUE');
    }
    expect(JSON.parse(JSON.stringify(key))).toEqual({
      keyId: 'lk_abcdefghijklmnopqrst',
      tenant: 'acme',
      serverIdentity: 'neo.example.jp',
      issuedAt: '2027-01-01T00:00:00.000Z',
      revokedAt: null,
      replacedBy: null,
      secret: '[redacted]',
    });
  });

  it('has a public view without the secret field at all', () => {
    expect(key.toPublic()).not.toHaveProperty('secret');
    expect(key.revoked).toBe(false);
  });
});
