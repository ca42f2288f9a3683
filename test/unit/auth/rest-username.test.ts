import { describe, expect, it } from 'vitest';
import {
  formatRestUsername,
  isRestUsernameExpired,
  MAX_REST_USERNAME_LENGTH,
  parseRestUsername,
} from '../../../src/auth/rest-username.js';

describe('parseRestUsername', () => {
  it.each([
    ['1700000000:acme', { expiry: 1700000000, tenant: 'acme' }],
    ['1700000000:acme:user-42', { expiry: 1700000000, tenant: 'acme', opaque: 'user-42' }],
    ['0:a', { expiry: 0, tenant: 'a' }],
    ['999999999999:t', { expiry: 999999999999, tenant: 't' }],
    ['1:A.b_c-9', { expiry: 1, tenant: 'A.b_c-9' }],
    [
      '1:acme:!"#$%&()*+,-./;<=>?@[\\]^_`{|}~',
      { expiry: 1, tenant: 'acme', opaque: '!"#$%&()*+,-./;<=>?@[\\]^_`{|}~' },
    ],
    [`1:${'t'.repeat(64)}`, { expiry: 1, tenant: 't'.repeat(64) }],
    [`1:t:${'o'.repeat(128)}`, { expiry: 1, tenant: 't', opaque: 'o'.repeat(128) }],
  ])('accepts %j', (text, expected) => {
    expect(parseRestUsername(text)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['acme', 'no expiry'],
    ['1700000000', 'no tenant'],
    ['1700000000:', 'empty tenant'],
    [':acme', 'empty expiry'],
    ['acme:1700000000', 'fields swapped'],
    ['01700000000:acme', 'leading zero'],
    ['-1:acme', 'negative'],
    ['+1:acme', 'sign'],
    ['1.5:acme', 'fraction'],
    ['1e9:acme', 'exponent'],
    [' 1:acme', 'leading space'],
    ['1000000000000:acme', '13 digits'],
    ['1:ac me', 'space in tenant'],
    ['1:acmé', 'non-ASCII tenant'],
    ['1:ac/me', 'slash in tenant'],
    [`1:${'t'.repeat(65)}`, 'tenant too long'],
    ['1:acme:', 'empty opaque'],
    ['1::opaque', 'empty tenant with opaque'],
    ['1:acme:a:b', 'colon in opaque'],
    ['1:acme:a b', 'space in opaque'],
    ['1:acme:a\tb', 'control in opaque'],
    ['1:acme:é', 'non-ASCII opaque'],
    [`1:t:${'o'.repeat(129)}`, 'opaque too long'],
    [`1:t:${'o'.repeat(1000)}`, 'far too long'],
  ])('rejects %j (%s)', (text) => {
    expect(parseRestUsername(text)).toBeNull();
  });

  it('bounds the longest valid username', () => {
    const longest = `999999999999:${'t'.repeat(64)}:${'o'.repeat(128)}`;
    expect(longest.length).toBe(MAX_REST_USERNAME_LENGTH);
    expect(parseRestUsername(longest)).not.toBeNull();
  });

  it('round-trips through formatRestUsername', () => {
    for (const text of ['1700000000:acme', '5:x:y']) {
      const parsed = parseRestUsername(text);
      expect(parsed).not.toBeNull();
      expect(formatRestUsername(parsed!)).toBe(text);
    }
  });
});

describe('isRestUsernameExpired', () => {
  const parsed = { expiry: 1_700_000_000, tenant: 'acme' };
  it('is valid through the expiry second and expired from the next one (as coturn)', () => {
    expect(isRestUsernameExpired(parsed, 1_699_999_999_000)).toBe(false);
    expect(isRestUsernameExpired(parsed, 1_700_000_000_999)).toBe(false);
    expect(isRestUsernameExpired(parsed, 1_700_000_001_000)).toBe(true);
  });
});
