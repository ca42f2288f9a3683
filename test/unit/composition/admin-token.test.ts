// Admin tokens minted for the operator: the shape admin-auth verifies, and `--ttl` parsing.
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintAdminToken, parseTtl } from '../../../src/composition/admin-token.js';
import { verifyAdminToken } from '../../../src/http/admin-auth.js';

const SECRET = 'a'.repeat(40);

describe('mintAdminToken', () => {
  it('signs a token the admin API accepts until it expires', () => {
    const now = Date.parse('2026-11-24T00:00:00Z');
    const minted = mintAdminToken(SECRET, { ttlSeconds: 3600, subject: 'ops', now });
    expect(minted.expiresAt.toISOString()).toBe('2026-11-24T01:00:00.000Z');
    const key = createSecretKey(Buffer.from(SECRET, 'utf8'));
    expect(verifyAdminToken(minted.token, key, now + 3_599_000)).toEqual({ subject: 'ops' });
    expect(() => verifyAdminToken(minted.token, key, now + 3_601_000)).toThrow(/expired/);
  });

  it("carries icegate's issuer and audience and its iat (issue 15 point 4)", () => {
    const now = Date.parse('2026-11-24T00:00:00Z');
    const { token } = mintAdminToken(SECRET, { now });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ iss: 'icegate', aud: 'icegate-admin', iat: now / 1000, scope: 'admin' });
  });
});

describe('parseTtl', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseTtl('3600')).toBe(3600);
    expect(parseTtl('90m')).toBe(5400);
    expect(parseTtl('12h')).toBe(43_200);
    expect(parseTtl('30d')).toBe(2_592_000);
  });

  it('refuses other spellings and lifetimes outside 1 minute to 365 days', () => {
    for (const bad of ['', '1y', '-5m', '1.5h', '30', '366d']) expect(() => parseTtl(bad)).toThrow(/--ttl/);
  });
});
