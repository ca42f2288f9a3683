import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { StoredKey } from '../../../src/entitlement/store/index.js';
import {
  CLOCK_TOLERANCE_SECONDS,
  newKeyId,
  newKeySecret,
  secretKeyFor,
  TenantTokenError,
  type TenantTokenErrorCode,
  verifyTenantToken,
} from '../../../src/licensing/index.js';
import { forgetVerifiedTokens, verifiedTokenCount } from '../../../src/licensing/tenant-token.js';

const NOW = new Date('2027-03-01T00:00:00Z');
const nowSeconds = NOW.getTime() / 1000;

function makeKey(revokedAt: Date | null = null): StoredKey {
  return new StoredKey({
    keyId: newKeyId(),
    tenant: 'acme',
    serverIdentity: 'neo.example.jp',
    secret: newKeySecret(),
    issuedAt: new Date('2027-01-01T00:00:00Z'),
    revokedAt,
    replacedBy: null,
  });
}

function lookupOf(...keys: StoredKey[]) {
  const calls: string[] = [];
  const lookup = async (id: string) => {
    calls.push(id);
    return keys.find((k) => k.keyId === id) ?? null;
  };
  return { lookup, calls };
}

/** Signs as a desknet's NEO server would: jsonwebtoken.sign with the secret string. */
function sign(key: StoredKey, payload: object, options: jwt.SignOptions = {}): string {
  return jwt.sign(payload, key.secret, { algorithm: 'HS256', keyid: key.keyId, ...options });
}

async function refusal(p: Promise<unknown>): Promise<TenantTokenError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof TenantTokenError)) throw new Error(`expected a TenantTokenError, got ${String(err)}`);
  return err;
}

function b64(json: object): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** A token signed by hand, for shapes jsonwebtoken.sign refuses to produce. */
function rawHs256(header: object, payload: object, secret: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('verifyTenantToken', () => {
  it('accepts an HS256 token signed with the key secret; the tenant comes from the key', async () => {
    const key = makeKey();
    const { lookup, calls } = lookupOf(key);
    const token = sign(key, { exp: nowSeconds + 300, sub: 'user-42', tenant: 'someone-else' });
    const verified = await verifyTenantToken(token, lookup, NOW);
    expect(verified).toMatchObject({ tenant: 'acme', keyId: key.keyId, subject: 'user-42' });
    expect(verified.expiresAt.getTime()).toBe((nowSeconds + 300) * 1000);
    expect(calls).toEqual([key.keyId]);
  });

  // Issue 15 point 4: a token issued "in the future" was accepted before.
  it('refuses an iat in the future beyond the clock tolerance, and accepts it within', async () => {
    const key = makeKey();
    const { lookup } = lookupOf(key);
    const at = (iat: number) => sign(key, { exp: nowSeconds + 300, iat });
    expect((await verifyTenantToken(at(nowSeconds + CLOCK_TOLERANCE_SECONDS), lookup, NOW)).tenant).toBe(
      'acme',
    );
    const early = await refusal(verifyTenantToken(at(nowSeconds + CLOCK_TOLERANCE_SECONDS + 1), lookup, NOW));
    expect(early.code).toBe('invalid_token');
    expect(early.message).toMatch(/iat is in the future/);
    expect((await refusal(verifyTenantToken(at(nowSeconds + 3600), lookup, NOW))).code).toBe('invalid_token');
  });

  it('makes sub optional and accepts exp exactly 10 minutes ahead', async () => {
    const key = makeKey();
    const token = sign(key, { exp: nowSeconds + 600 });
    expect((await verifyTenantToken(token, lookupOf(key).lookup, NOW)).subject).toBeNull();
  });

  it('accepts a token whose exp passed less than the clock tolerance ago', async () => {
    const key = makeKey();
    const token = sign(key, { exp: nowSeconds - 3 });
    await expect(verifyTenantToken(token, lookupOf(key).lookup, NOW)).resolves.toBeDefined();
  });

  const cases: Array<[string, (k: StoredKey) => string, TenantTokenErrorCode]> = [
    ['expired', (k) => sign(k, { exp: nowSeconds - 60 }), 'token_expired'],
    ['exp missing', (k) => sign(k, { sub: 'u' }), 'invalid_token'],
    ['exp 11 minutes ahead', (k) => sign(k, { exp: nowSeconds + 660 }), 'invalid_token'],
    [
      'exp not a number',
      (k) => rawHs256({ alg: 'HS256', kid: k.keyId }, { exp: 'soon' }, k.secret),
      'invalid_token',
    ],
    ['payload an array', (k) => rawHs256({ alg: 'HS256', kid: k.keyId }, [1], k.secret), 'invalid_token'],
    ['sub not a string', (k) => sign(k, { exp: nowSeconds + 60, sub: 42 }), 'invalid_token'],
    ['sub too long', (k) => sign(k, { exp: nowSeconds + 60, sub: 'x'.repeat(257) }), 'invalid_token'],
    ['nbf in the future', (k) => sign(k, { exp: nowSeconds + 300, nbf: nowSeconds + 120 }), 'invalid_token'],
    [
      'signed with another secret',
      (k) => jwt.sign({ exp: nowSeconds + 60 }, newKeySecret(), { keyid: k.keyId }),
      'invalid_token',
    ],
    [
      'signed with the secret as base64-decoded bytes',
      (k) => jwt.sign({ exp: nowSeconds + 60 }, Buffer.from(k.secret, 'base64url'), { keyid: k.keyId }),
      'invalid_token',
    ],
    ['HS512', (k) => sign(k, { exp: nowSeconds + 60 }, { algorithm: 'HS512' }), 'invalid_token'],
    ['HS384', (k) => sign(k, { exp: nowSeconds + 60 }, { algorithm: 'HS384' }), 'invalid_token'],
    [
      'alg none',
      (k) => `${b64({ alg: 'none', typ: 'JWT', kid: k.keyId })}.${b64({ exp: nowSeconds + 60 })}.`,
      'invalid_token',
    ],
    [
      'RS256',
      (k) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return jwt.sign({ exp: nowSeconds + 60 }, privateKey, { algorithm: 'RS256', keyid: k.keyId });
      },
      'invalid_token',
    ],
    ['no kid', (k) => jwt.sign({ exp: nowSeconds + 60 }, k.secret), 'invalid_token'],
    [
      'kid not a string',
      (k) =>
        jwt.sign({ exp: nowSeconds + 60 }, k.secret, {
          header: { alg: 'HS256', kid: 7 } as unknown as jwt.JwtHeader,
        }),
      'invalid_token',
    ],
    [
      'unknown kid',
      (k) => jwt.sign({ exp: nowSeconds + 60 }, k.secret, { keyid: newKeyId() }),
      'unknown_license',
    ],
    [
      'kid that is no key id',
      (k) => jwt.sign({ exp: nowSeconds + 60 }, k.secret, { keyid: '../../etc' }),
      'unknown_license',
    ],
    ['garbage', () => 'not-a-jwt', 'invalid_token'],
    ['three garbage parts', () => 'a.b.c', 'invalid_token'],
    ['empty', () => '', 'invalid_token'],
    [
      'payload not JSON',
      (k) => `${b64({ alg: 'HS256', typ: 'JWT', kid: k.keyId })}.${Buffer.from('{').toString('base64url')}.x`,
      'invalid_token',
    ],
    ['too long', (k) => sign(k, { exp: nowSeconds + 60, pad: 'x'.repeat(5000) }), 'invalid_token'],
  ];

  it.each(cases)('refuses a token: %s', async (_name, make, code) => {
    const key = makeKey();
    const token = make(key);
    const err = await refusal(verifyTenantToken(token, lookupOf(key).lookup, NOW));
    expect(err.code).toBe(code);
    expect(err.message).not.toContain(key.secret);
    if (token.length > 0) expect(err.message).not.toContain(token);
  });

  it('refuses a revoked key with license_revoked, but only for a correctly signed token', async () => {
    const key = makeKey(new Date('2027-02-01T00:00:00Z'));
    const { lookup } = lookupOf(key);
    const good = sign(key, { exp: nowSeconds + 60 });
    expect((await refusal(verifyTenantToken(good, lookup, NOW))).code).toBe('license_revoked');
    const forged = jwt.sign({ exp: nowSeconds + 60 }, newKeySecret(), { keyid: key.keyId });
    expect((await refusal(verifyTenantToken(forged, lookup, NOW))).code).toBe('invalid_token');
  });

  it('reveals the verified token of a revoked key only when asked, and still refuses it', async () => {
    const key = makeKey(new Date('2027-02-01T00:00:00Z'));
    const { lookup } = lookupOf(key);
    const good = sign(key, { exp: nowSeconds + 60, sub: 'u-1' });
    // Every other caller: the refusal carries nothing.
    expect((await refusal(verifyTenantToken(good, lookup, NOW))).revokedToken).toBeNull();
    const revealed = await refusal(verifyTenantToken(good, lookup, NOW, { revealRevoked: true }));
    expect(revealed.code).toBe('license_revoked');
    expect(revealed.revokedToken).toMatchObject({ tenant: 'acme', keyId: key.keyId, subject: 'u-1' });
    expect(revealed.revokedToken?.key).toBe(key);
    // Bad signature, expired, exp too far ahead: refused as before, nothing revealed.
    const forged = jwt.sign({ exp: nowSeconds + 60 }, newKeySecret(), { keyid: key.keyId });
    expect(await refusal(verifyTenantToken(forged, lookup, NOW, { revealRevoked: true }))).toMatchObject({
      code: 'invalid_token',
      revokedToken: null,
    });
    const expired = sign(key, { exp: nowSeconds - 60 });
    expect(await refusal(verifyTenantToken(expired, lookup, NOW, { revealRevoked: true }))).toMatchObject({
      code: 'token_expired',
      revokedToken: null,
    });
    const tooLong = sign(key, { exp: nowSeconds + 3600 });
    expect(await refusal(verifyTenantToken(tooLong, lookup, NOW, { revealRevoked: true }))).toMatchObject({
      code: 'license_revoked',
      revokedToken: null,
    });
    // An active key verifies as always with the option.
    const active = makeKey();
    const ok = await verifyTenantToken(sign(active, { exp: nowSeconds + 60 }), lookupOf(active).lookup, NOW, {
      revealRevoked: true,
    });
    expect(ok.keyId).toBe(active.keyId);
  });

  it('builds the HS256 key object once per key', () => {
    const key = makeKey();
    const first = secretKeyFor(key);
    expect(secretKeyFor(key)).toBe(first);
    expect(first.type).toBe('secret');
    expect(first.export().toString('utf8')).toBe(key.secret);
    // A record of the same id with another secret (cannot happen in the store) is not served the old key.
    const other = new StoredKey({
      keyId: key.keyId,
      tenant: key.tenant,
      serverIdentity: key.serverIdentity,
      secret: newKeySecret(),
      issuedAt: key.issuedAt,
      revokedAt: null,
      replacedBy: null,
    });
    expect(secretKeyFor(other)).not.toBe(first);
  });
});

describe('verifyTenantToken with a remembered signature', () => {
  it('verifies a token once, and on later requests still looks its key up and checks its claims', async () => {
    forgetVerifiedTokens();
    const key = makeKey();
    const { lookup, calls } = lookupOf(key);
    const token = sign(key, { exp: nowSeconds + 300, sub: 'user-7' });
    const first = await verifyTenantToken(token, lookup, NOW);
    expect(verifiedTokenCount()).toBe(1);
    const again = await verifyTenantToken(token, lookup, NOW);
    expect(again).toEqual(first);
    expect(calls).toEqual([key.keyId, key.keyId]);
  });

  it('refuses a remembered token at once when its key is revoked', async () => {
    forgetVerifiedTokens();
    const key = makeKey();
    const token = sign(key, { exp: nowSeconds + 300 });
    await verifyTenantToken(token, lookupOf(key).lookup, NOW);
    const revoked = new StoredKey({ ...keyFields(key), revokedAt: NOW });
    const err = await refusal(verifyTenantToken(token, lookupOf(revoked).lookup, NOW));
    expect(err.code).toBe('license_revoked');
  });

  it('refuses a remembered token when its key is gone or its secret is no longer the one it was signed with', async () => {
    forgetVerifiedTokens();
    const key = makeKey();
    const token = sign(key, { exp: nowSeconds + 300 });
    await verifyTenantToken(token, lookupOf(key).lookup, NOW);
    expect((await refusal(verifyTenantToken(token, lookupOf().lookup, NOW))).code).toBe('unknown_license');
    const resecreted = new StoredKey({ ...keyFields(key), secret: newKeySecret() });
    expect((await refusal(verifyTenantToken(token, lookupOf(resecreted).lookup, NOW))).code).toBe(
      'invalid_token',
    );
    // The old secret's verdict is forgotten: the key as it was must verify the token in full again.
    expect(verifiedTokenCount()).toBe(0);
  });

  it('honours exp and nbf at each request time, with the clock tolerance', async () => {
    forgetVerifiedTokens();
    const key = makeKey();
    const { lookup } = lookupOf(key);
    const token = sign(key, { exp: nowSeconds + 60, nbf: nowSeconds - 1 });
    await verifyTenantToken(token, lookup, NOW);
    const at = (s: number) => new Date((nowSeconds + s) * 1000);
    await expect(
      verifyTenantToken(token, lookup, at(60 + CLOCK_TOLERANCE_SECONDS - 1)),
    ).resolves.toBeDefined();
    expect((await refusal(verifyTenantToken(token, lookup, at(60 + CLOCK_TOLERANCE_SECONDS)))).code).toBe(
      'token_expired',
    );
    expect(
      (await refusal(verifyTenantToken(token, lookup, at(-2 - CLOCK_TOLERANCE_SECONDS)))).message,
    ).toMatch(/nbf/);
  });

  it('remembers a bounded number of tokens', async () => {
    forgetVerifiedTokens();
    const key = makeKey();
    const { lookup } = lookupOf(key);
    for (let i = 0; i < 4_100; i += 1) {
      await verifyTenantToken(sign(key, { exp: nowSeconds + 300, sub: `u${i}` }), lookup, NOW);
    }
    expect(verifiedTokenCount()).toBe(4_096);
  });
});

function keyFields(key: StoredKey) {
  return {
    keyId: key.keyId,
    tenant: key.tenant,
    serverIdentity: key.serverIdentity,
    secret: key.secret,
    issuedAt: key.issuedAt,
    revokedAt: key.revokedAt,
    replacedBy: key.replacedBy,
  };
}
