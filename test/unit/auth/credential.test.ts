import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintCredential } from '../../../src/auth/credential.js';
import { parseRestUsername } from '../../../src/auth/rest-username.js';
import { SecretRing } from '../../../src/auth/secret-ring.js';

describe('mintCredential', () => {
  const ring = new SecretRing(['new', 'old']);

  it('mints <now+ttl>:<tenant> with the first secret', () => {
    const credential = mintCredential(ring, { tenant: 'acme', ttlSeconds: 3600, now: 1_700_000_000_500 });
    expect(credential.username).toBe('1700003600:acme');
    expect(credential.password).toBe(createHmac('sha1', 'new').update('1700003600:acme').digest('base64'));
    expect(credential.expiresAt.toISOString()).toBe(new Date(1_700_003_600_000).toISOString());
    expect(ring.verifyPassword(credential.username, credential.password)).toBe(true);
  });

  it('accepts a Date for now and appends the opaque part', () => {
    const credential = mintCredential(ring, {
      tenant: 'acme',
      ttlSeconds: 60,
      now: new Date('2026-01-01T00:00:00Z'),
      opaque: 'user-7',
    });
    expect(parseRestUsername(credential.username)).toEqual({
      expiry: Date.parse('2026-01-01T00:01:00Z') / 1000,
      tenant: 'acme',
      opaque: 'user-7',
    });
  });

  it.each([
    [{ tenant: 'ac me', ttlSeconds: 60 }, 'ICEGATE_AUTH_BAD_TENANT'],
    [{ tenant: '', ttlSeconds: 60 }, 'ICEGATE_AUTH_BAD_TENANT'],
    [{ tenant: 'acme', ttlSeconds: 60, opaque: 'a:b' }, 'ICEGATE_AUTH_BAD_OPAQUE'],
    [{ tenant: 'acme', ttlSeconds: 0 }, 'ICEGATE_AUTH_BAD_TTL'],
    [{ tenant: 'acme', ttlSeconds: 1.5 }, 'ICEGATE_AUTH_BAD_TTL'],
    [{ tenant: 'acme', ttlSeconds: 10 * 24 * 3600 }, 'ICEGATE_AUTH_BAD_TTL'],
  ])('refuses %j with %s', (request, code) => {
    expect(() => mintCredential(ring, { ...request, now: 0 })).toThrow(expect.objectContaining({ code }));
  });

  it('refuses an invalid date', () => {
    expect(() => mintCredential(ring, { tenant: 'acme', ttlSeconds: 60, now: new Date('nope') })).toThrow(
      expect.objectContaining({ code: 'ICEGATE_AUTH_BAD_TIME' }),
    );
  });
});
