import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../src/auth/errors.js';
import { SecretRing } from '../../../src/auth/secret-ring.js';

const USERNAME = '1700000000:acme';

/** The coturn formula computed independently of the code under test. */
function coturnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

describe('SecretRing.password', () => {
  it("matches coturn's use-auth-secret formula", () => {
    const ring = new SecretRing(['north']);
    // Pinned with: printf %s '1700000000:acme' | openssl dgst -sha1 -hmac north -binary | base64
    expect(ring.password(USERNAME)).toBe('wEe36g0+L5taT4Rzm7RgCT1eZLA=');
    expect(ring.password(USERNAME)).toBe(coturnPassword('north', USERNAME));
  });

  it('mints with the first secret only, and can name another by index', () => {
    const ring = new SecretRing(['south', 'north']);
    expect(ring.password(USERNAME)).toBe(coturnPassword('south', USERNAME));
    expect(ring.password(USERNAME, 1)).toBe(coturnPassword('north', USERNAME));
    expect(() => ring.password(USERNAME, 2)).toThrow(AuthError);
  });

  it('treats secrets as UTF-8 text, like coturn', () => {
    const ring = new SecretRing(['sécret']);
    expect(ring.password(USERNAME)).toBe(
      createHmac('sha1', Buffer.from('sécret', 'utf8')).update(USERNAME).digest('base64'),
    );
  });
});

describe('SecretRing construction', () => {
  it('needs at least one secret', () => {
    expect(() => new SecretRing([])).toThrow(expect.objectContaining({ code: 'ICEGATE_AUTH_NO_SECRET' }));
  });
  it('refuses an empty secret', () => {
    expect(() => new SecretRing(['a', ''])).toThrow(
      expect.objectContaining({ code: 'ICEGATE_AUTH_EMPTY_SECRET', message: 'secret #2 is empty' }),
    );
  });
  it('never shows its secrets when inspected or serialised', () => {
    const ring = new SecretRing(['very-secret-value']);
    expect(inspect(ring, { depth: 5, showHidden: true })).not.toContain('very-secret-value');
    expect(JSON.stringify(ring)).not.toContain('very-secret-value');
  });
});

describe('SecretRing.verifyPassword', () => {
  const ring = new SecretRing(['new', 'north']);

  it('accepts a password from any secret in the ring (rotation)', () => {
    expect(ring.verifyPassword(USERNAME, coturnPassword('new', USERNAME))).toBe(true);
    expect(ring.verifyPassword(USERNAME, coturnPassword('north', USERNAME))).toBe(true);
  });

  it('refuses a password from a secret that left the ring', () => {
    const rotated = new SecretRing(['new']);
    expect(rotated.verifyPassword(USERNAME, coturnPassword('north', USERNAME))).toBe(false);
  });

  it('refuses wrong, near-miss, truncated, padded and empty passwords', () => {
    const good = coturnPassword('north', USERNAME);
    const nearMiss = `${good.slice(0, 5)}${good[5] === 'A' ? 'B' : 'A'}${good.slice(6)}`;
    for (const candidate of [
      coturnPassword('other', USERNAME),
      nearMiss,
      good.slice(0, -1),
      `${good}=`,
      `${good} `,
      '',
    ]) {
      expect(ring.verifyPassword(USERNAME, candidate)).toBe(false);
    }
  });

  it('binds the password to the username', () => {
    expect(ring.verifyPassword('1700000001:acme', coturnPassword('north', USERNAME))).toBe(false);
  });
});

describe('SecretRing.longTermKeys', () => {
  it('derives MD5(username:realm:password) per secret, as coturn does (RFC 8489 section 9.2.2)', () => {
    const ring = new SecretRing(['north', 'south']);
    const keys = ring.longTermKeys(USERNAME, 'icegate');
    expect(keys).toHaveLength(2);
    // Pinned with coturn: turnadmin -k -u 1700000000:acme -r icegate -p wEe36g0+L5taT4Rzm7RgCT1eZLA=
    expect(keys[0]!.toString('hex')).toBe('9a095f54b170445ab635b5630aa9ac7e');
    const southPassword = coturnPassword('south', USERNAME);
    expect(keys[1]).toEqual(createHash('md5').update(`${USERNAME}:icegate:${southPassword}`).digest());
  });

  it('caches per username and realm', () => {
    const ring = new SecretRing(['north']);
    const first = ring.longTermKeys(USERNAME, 'icegate');
    expect(ring.longTermKeys(USERNAME, 'icegate')).toBe(first);
    const otherRealm = ring.longTermKeys(USERNAME, 'elsewhere');
    expect(otherRealm).not.toBe(first);
    expect(otherRealm[0]).not.toEqual(first[0]);
    expect(ring.cachedKeyCount).toBe(2);
  });

  it('keeps the cache within its bound, evicting the least recently used', () => {
    const ring = new SecretRing(['north'], 3);
    const a = ring.longTermKeys('1:a', 'r');
    ring.longTermKeys('1:b', 'r');
    ring.longTermKeys('1:c', 'r');
    expect(ring.longTermKeys('1:a', 'r')).toBe(a); // touch a: b is now the oldest
    ring.longTermKeys('1:d', 'r');
    expect(ring.cachedKeyCount).toBe(3);
    expect(ring.longTermKeys('1:a', 'r')).toBe(a);
    for (let i = 0; i < 100; i++) ring.longTermKeys(`1:u${i}`, 'r');
    expect(ring.cachedKeyCount).toBe(3);
  });

  it('defaults to a 10,000-entry cache', () => {
    const ring = new SecretRing(['north']);
    for (let i = 0; i < 10_050; i++) ring.longTermKeys(`1:u${i}`, 'r');
    expect(ring.cachedKeyCount).toBe(10_000);
  });
});
