import { describe, expect, it } from 'vitest';
import {
  formatLicenseKey,
  isKeyId,
  newKeyId,
  newKeySecret,
  parseLicenseKey,
} from '../../../src/licensing/index.js';

describe('license key format', () => {
  it('makes key ids of lk_ and 20 base32 characters, all different', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newKeyId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^lk_[a-z2-7]{20}$/);
      expect(isKeyId(id)).toBe(true);
    }
    // Every base32 symbol shows up: the mapping from random bytes is not skewed to a subset.
    const symbols = new Set([...ids].flatMap((id) => [...id.slice(3)]));
    expect(symbols.size).toBe(32);
  });

  it('makes secrets of 32 random bytes, base64url (256 bits)', () => {
    const secrets = new Set(Array.from({ length: 100 }, () => newKeySecret()));
    expect(secrets.size).toBe(100);
    for (const s of secrets) {
      expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    }
  });

  it('round-trips a key through its text form, ignoring surrounding spaces', () => {
    const keyId = newKeyId();
    const secret = newKeySecret();
    const text = formatLicenseKey(keyId, secret);
    expect(text).toBe(`${keyId}.${secret}`);
    expect(parseLicenseKey(text)).toEqual({ keyId, secret });
    expect(parseLicenseKey(`  ${text}\n`)).toEqual({ keyId, secret });
  });

  it.each([
    ['', 'empty'],
    ['lk_abcdefghijklmnopqrst', 'no secret'],
    ['lk_abcdefghijklmnopqrst.', 'empty secret'],
    ['lk_abcdefghijklmnopqrs.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'id too short'],
    ['lk_ABCDEFGHIJKLMNOPQRST.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'upper-case id'],
    ['lk_abcdefghijklmnopqr01.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'id with 0 and 1'],
    ['xx_abcdefghijklmnopqrst.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'wrong prefix'],
    ['lk_abcdefghijklmnopqrst.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'secret too short'],
    ['lk_abcdefghijklmnopqrst.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'padded secret'],
    ['lk_abcdefghijklmnopqrst.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x', 'trailing part'],
  ])('refuses %j (%s)', (text) => {
    expect(parseLicenseKey(text)).toBeNull();
  });
});
