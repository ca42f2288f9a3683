import { describe, expect, it } from 'vitest';
import { checkServerIdentity, LicenseError, validateServerIdentity } from '../../../src/licensing/index.js';

describe('server identity', () => {
  it.each([
    ['neo.example.co.jp', 'neo.example.co.jp'],
    ['  https://neo.example.jp/dneo/  ', 'https://neo.example.jp/dneo/'],
    ['サーバー1 (本社)', 'サーバー1 (本社)'],
    ['x'.repeat(255), 'x'.repeat(255)],
    ['亜'.repeat(255), '亜'.repeat(255)],
  ])('accepts %j', (text, value) => {
    expect(checkServerIdentity(text)).toBe(value);
  });

  it.each([
    ['', 'must not be empty'],
    ['   ', 'must not be empty'],
    ['x'.repeat(256), 'at most 255'],
    ['host\nname', 'printable'],
    ['host\u0000', 'printable'],
    ['host\u007f', 'printable'],
    ['host\u200bname', 'printable'],
    ['line\u2028sep', 'printable'],
  ])('refuses %j', (text, reason) => {
    const result = validateServerIdentity(text);
    expect(result.ok).toBe(false);
    expect(() => checkServerIdentity(text)).toThrow(reason);
    try {
      checkServerIdentity(text);
    } catch (err) {
      expect(err).toBeInstanceOf(LicenseError);
      expect((err as LicenseError).code).toBe('invalid_server_identity');
    }
  });

  it('refuses non-strings', () => {
    expect(validateServerIdentity(42)).toEqual({ ok: false, reason: 'must be a string' });
  });
});
