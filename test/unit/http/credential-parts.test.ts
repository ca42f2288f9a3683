// ICE URLs, credential lifetime, the opaque username suffix, and error mapping.
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { isValidOpaque, SecretRing } from '../../../src/auth/index.js';
import { mintAdminToken } from '../../../src/composition/admin-token.js';
import { EntitlementUnavailable } from '../../../src/entitlement/service/index.js';
import { StoreError } from '../../../src/entitlement/store/index.js';
import { toHttpError } from '../../../src/http/error-mapping.js';
import {
  ADMIN_TOKEN_AUDIENCE,
  ADMIN_TOKEN_ISSUER,
  cachedPseudonyms,
  credentialOpaque,
  credentialTtl,
  entitlementRefusal,
  HttpError,
  iceUrlsOf,
  MAX_ADMIN_TOKEN_TTL_SECONDS,
  parseCredentialOpaque,
  userPseudonym,
  verifyAdminToken,
} from '../../../src/http/index.js';
import { CLOCK_TOLERANCE_SECONDS, TenantTokenError } from '../../../src/licensing/index.js';

const NOW = Date.parse('2027-05-25T03:00:00Z'); // 12:00 JST

describe('iceUrlsOf', () => {
  it('lists only configured listeners, UDP then TCP then TLS, with IPv6 in brackets', () => {
    expect(
      iceUrlsOf([
        { transport: 'tls', host: 'turn.example.jp', port: 443 },
        { transport: 'udp', host: '2001:db8::1', port: 3478 },
      ]),
    ).toEqual({
      stun: ['stun:[2001:db8::1]:3478'],
      turn: ['turn:[2001:db8::1]:3478?transport=udp', 'turns:turn.example.jp:443?transport=tcp'],
    });
    expect(iceUrlsOf([{ transport: 'tcp', host: '10.0.0.1', port: 3478 }])).toEqual({
      stun: [],
      turn: ['turn:10.0.0.1:3478?transport=tcp'],
    });
  });
});

describe('credentialTtl', () => {
  const until = (date: string | null) =>
    ({ tenant: 't', active: date !== null, state: 'active', licenses: 1, until: date }) as const;
  it('takes the smallest of the maximum, the request and the end of the last JST day of support', () => {
    expect(credentialTtl(until('2027-11-30'), NOW, 86_400)).toBe(86_400);
    expect(credentialTtl(until('2027-11-30'), NOW, 86_400, 300)).toBe(300);
    expect(credentialTtl(until('2027-11-30'), NOW, 86_400, 999_999)).toBe(86_400);
    expect(credentialTtl(until('2027-05-25'), NOW, 86_400)).toBe(43_200);
    expect(credentialTtl(until('2027-05-25'), Date.parse('2027-05-25T14:59:59.900Z'), 86_400)).toBe(1);
  });
});

describe('credentialOpaque', () => {
  const ring = new SecretRing(['0123456789abcdef0123']);
  it('is <keyId>.<12 characters>, valid in a REST username, and parses back', () => {
    const opaque = credentialOpaque(ring, 'acme', 'lk_abcdefghijklmnopqrst', 'alice@example.jp');
    expect(isValidOpaque(opaque)).toBe(true);
    expect(opaque).not.toContain('alice');
    expect(parseCredentialOpaque(opaque)).toEqual({
      keyId: 'lk_abcdefghijklmnopqrst',
      user: userPseudonym(ring, 'acme', 'alice@example.jp'),
    });
    // Same user in another tenant, or under another secret: another pseudonym.
    expect(userPseudonym(ring, 'other', 'alice@example.jp')).not.toBe(
      userPseudonym(ring, 'acme', 'alice@example.jp'),
    );
    expect(userPseudonym(new SecretRing(['another-secret-000000']), 'acme', 'alice@example.jp')).not.toBe(
      userPseudonym(ring, 'acme', 'alice@example.jp'),
    );
    const random = credentialOpaque(ring, 'acme', 'lk_abcdefghijklmnopqrst');
    expect(parseCredentialOpaque(random)?.user).toHaveLength(12);
    expect(parseCredentialOpaque('no-dot')).toBeNull();
    expect(parseCredentialOpaque('lk_x.short')).toBeNull();
  });
});

describe('entitlementRefusal', () => {
  const answer = (state: 'active' | 'grace' | 'not_started' | 'expired' | 'none' | 'unknown') => ({
    tenant: 't',
    active: state === 'active' || state === 'grace',
    state,
    licenses: 0,
    until: null,
    expiresAt: new Date(0),
  });
  it('maps states to DESIGN.md codes; none counts as support_expired', () => {
    expect(entitlementRefusal(answer('active'))).toBeNull();
    expect(entitlementRefusal(answer('grace'))).toBeNull();
    expect(entitlementRefusal(answer('not_started'))?.code).toBe('support_not_started');
    expect(entitlementRefusal(answer('expired'))?.code).toBe('support_expired');
    expect(entitlementRefusal(answer('none'))?.code).toBe('support_expired');
  });

  it('answers a tenant that was never imported 404 unknown_tenant (issue 16 point 4)', () => {
    const refusal = entitlementRefusal(answer('unknown'));
    expect(refusal?.code).toBe('unknown_tenant');
    expect(refusal?.status).toBe(404);
  });
});

describe('toHttpError', () => {
  it('maps token, entitlement, store and body-parser errors to codes and statuses', () => {
    const mapped = (err: unknown) => {
      const e = toHttpError(err);
      return e === null ? null : [e.status, e.code];
    };
    expect(mapped(new TenantTokenError('license_revoked', 'x'))).toEqual([401, 'license_revoked']);
    expect(mapped(new EntitlementUnavailable('t'))).toEqual([503, 'entitlement_unavailable']);
    expect(toHttpError(new EntitlementUnavailable('t'))?.headers['Retry-After']).toBe('5');
    expect(mapped(new StoreError('store_unavailable', 'x'))).toEqual([503, 'entitlement_unavailable']);
    expect(mapped(new StoreError('unknown_key', 'x'))).toEqual([404, 'unknown_key']);
    expect(mapped(new StoreError('store_corrupt', 'x'))).toBeNull();
    expect(mapped(Object.assign(new Error('big'), { type: 'entity.too.large', status: 413 }))).toEqual([
      413,
      'payload_too_large',
    ]);
    expect(mapped(Object.assign(new Error('bad'), { type: 'entity.parse.failed', status: 400 }))).toEqual([
      400,
      'invalid_request',
    ]);
    expect(mapped(new HttpError('rate_limited', 'slow down'))).toEqual([429, 'rate_limited']);
    expect(mapped(new Error('anything'))).toBeNull();
    expect(mapped(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeNull();
  });
});

describe('verifyAdminToken', () => {
  const secret = 'admin-secret-0123456789abcdef0123456789';
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const now = NOW;
  const own = { iss: ADMIN_TOKEN_ISSUER, aud: ADMIN_TOKEN_AUDIENCE };
  const sign = (payload: object, s = secret, alg: jwt.Algorithm = 'HS256') =>
    // noTimestamp drops a given iat too, so it is only set when the payload has none.
    jwt.sign({ ...own, ...payload }, s, { algorithm: alg, noTimestamp: !('iat' in payload) });
  const exp = Math.floor(now / 1000) + 60;
  const code = (token: string) => {
    try {
      verifyAdminToken(token, key, now);
      return 'ok';
    } catch (err) {
      return (err as HttpError).code;
    }
  };
  it('wants HS256 with this secret, exp, and the admin scope', () => {
    expect(code(sign({ exp, scope: 'admin', sub: 'ops' }))).toBe('ok');
    expect(verifyAdminToken(sign({ exp, scope: ['admin'], sub: 'ops' }), key, now)).toEqual({
      subject: 'ops',
    });
    expect(code(sign({ scope: 'admin' }))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'tenant' }))).toBe('forbidden');
    expect(code(sign({ exp: exp - 120, scope: 'admin' }))).toBe('token_expired');
    expect(code(sign({ exp, scope: 'admin' }, 'wrong-secret-wrong-secret-wrong'))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'admin' }, secret, 'HS512'))).toBe('invalid_token');
  });

  // Issue 15 point 4: each of these was accepted before.
  it("wants icegate's own issuer and audience", () => {
    const message = (token: string) => {
      try {
        verifyAdminToken(token, key, now);
        return 'ok';
      } catch (err) {
        return (err as HttpError).message;
      }
    };
    expect(code(sign({ exp, scope: 'admin', aud: 'some-other-service' }))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'admin', aud: ['some-other-service', 'icegate'] }))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'admin', iss: 'https://idp.example.com' }))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'admin', iss: undefined }))).toBe('invalid_token');
    expect(code(sign({ exp, scope: 'admin', aud: undefined }))).toBe('invalid_token');
    expect(message(sign({ exp, scope: 'admin', aud: 'x' }))).toMatch(/iss "icegate" and aud "icegate-admin"/);
    expect(code(sign({ exp, scope: 'admin', aud: [ADMIN_TOKEN_AUDIENCE, 'other'] }))).toBe('ok');
  });

  it('caps the lifetime at one year (the CLI cap), checked against now', () => {
    const nowS = Math.floor(now / 1000);
    expect(code(sign({ exp: nowS + MAX_ADMIN_TOKEN_TTL_SECONDS, scope: 'admin' }))).toBe('ok');
    expect(code(sign({ exp: nowS + MAX_ADMIN_TOKEN_TTL_SECONDS + 3600, scope: 'admin' }))).toBe(
      'invalid_token',
    );
    expect(code(sign({ exp: nowS + 100 * 365 * 86_400, scope: 'admin' }))).toBe('invalid_token');
  });

  it('refuses an iat in the future beyond the clock leeway', () => {
    const nowS = Math.floor(now / 1000);
    expect(code(sign({ exp, iat: nowS + CLOCK_TOLERANCE_SECONDS, scope: 'admin' }))).toBe('ok');
    expect(code(sign({ exp, iat: nowS + CLOCK_TOLERANCE_SECONDS + 1, scope: 'admin' }))).toBe(
      'invalid_token',
    );
    expect(code(sign({ exp, iat: nowS + 86_400, scope: 'admin' }))).toBe('invalid_token');
    expect(code(sign({ exp, iat: nowS - 60, scope: 'admin' }))).toBe('ok');
  });

  it('accepts what the CLI mints (icegate admin-token), up to its longest --ttl', () => {
    const minted = mintAdminToken(secret, { now, ttlSeconds: MAX_ADMIN_TOKEN_TTL_SECONDS, subject: 'ops' });
    expect(verifyAdminToken(minted.token, key, now)).toEqual({ subject: 'ops' });
  });
});

describe('cachedPseudonyms', () => {
  it('answers what userPseudonym answers, per tenant and sub and ring', () => {
    const ring = new SecretRing(['mint-secret']);
    const other = new SecretRing(['another-secret']);
    const cached = cachedPseudonyms(ring, 2);
    for (const [tenant, sub] of [
      ['acme', 'alice'],
      ['acme', 'bob'],
      ['beta', 'alice'],
      ['acme', 'alice'],
    ] as const) {
      expect(cached(tenant, sub)).toBe(userPseudonym(ring, tenant, sub));
      expect(cached(tenant, sub)).not.toBe(userPseudonym(other, tenant, sub));
    }
    expect(credentialOpaque(ring, 'acme', 'lk_1', 'alice', cached)).toBe(
      credentialOpaque(ring, 'acme', 'lk_1', 'alice'),
    );
  });
});
