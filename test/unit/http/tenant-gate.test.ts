// The tenant gate decides from memory when it can (admitTenantNow, verifyTenantTokenNow): it must
// answer exactly what the promise path answers, refusals included, count each request once in the
// limiter, and fall back to the promise path when a cache would have to ask further.
import type { Request } from 'express';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import type { EntitlementAnswer } from '../../../src/entitlement/service/entitlement-service.js';
import { StoredKey } from '../../../src/entitlement/store/index.js';
import {
  MemoryRateLimiter,
  type RateHit,
  type RateLimiter,
} from '../../../src/http/rate-limit/rate-limiter.js';
import {
  admitTenant,
  admitTenantNow,
  countIpAndTenant,
  type TenantGateDeps,
} from '../../../src/http/tenant-gate.js';
import {
  newKeyId,
  newKeySecret,
  verifyTenantToken,
  verifyTenantTokenNow,
} from '../../../src/licensing/index.js';
import { forgetVerifiedTokens } from '../../../src/licensing/tenant-token.js';

const NOW = Date.parse('2027-03-01T00:00:00Z');
const nowSeconds = NOW / 1000;

function makeKey(tenant: string, revokedAt: Date | null = null): StoredKey {
  return new StoredKey({
    keyId: newKeyId(),
    tenant,
    serverIdentity: 'neo.example.jp',
    secret: newKeySecret(),
    issuedAt: new Date('2027-01-01T00:00:00Z'),
    revokedAt,
    replacedBy: null,
  });
}

const sign = (key: StoredKey, payload: object, secret = key.secret) =>
  jwt.sign(payload, secret, { algorithm: 'HS256', keyid: key.keyId });

function entitlement(tenant: string, active: boolean): EntitlementAnswer {
  return {
    tenant,
    active,
    state: active ? 'active' : 'expired',
    licenses: active ? 10 : 0,
    until: null,
    expiresAt: new Date(NOW + 60_000),
  } as EntitlementAnswer;
}

const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as Request;

/** The outcome of a call that may throw, return a value or return a promise, as data. */
async function outcome(run: () => unknown): Promise<{ ok: unknown } | { refused: unknown }> {
  const describeError = (e: unknown) => {
    const err = e as { name?: string; code?: string; message?: string };
    return { name: err.name, code: err.code, message: err.message };
  };
  try {
    return { ok: await run() };
  } catch (e) {
    return { refused: describeError(e) };
  }
}

const good = makeKey('acme');
const revoked = makeKey('acme', new Date('2027-02-01T00:00:00Z'));
const lapsed = makeKey('lapsed');
const keys = [good, revoked, lapsed];
const tokens: Record<string, string> = {
  valid: sign(good, { exp: nowSeconds + 300, sub: 'u-1' }),
  expired: sign(good, { exp: nowSeconds - 60 }),
  revoked: sign(revoked, { exp: nowSeconds + 300 }),
  forged: sign(good, { exp: nowSeconds + 300 }, newKeySecret()),
  unknownKey: sign(makeKey('acme'), { exp: nowSeconds + 300 }),
  tooFarAhead: sign(good, { exp: nowSeconds + 3600 }),
  lapsedTenant: sign(lapsed, { exp: nowSeconds + 300 }),
  malformed: 'not.a.jwt',
};

/** Gate deps over `keys`; `warm` says whether the caches answer from memory (peek). */
function gateDeps(warm: boolean, limiter: RateLimiter = new MemoryRateLimiter()) {
  const calls = { lookup: 0, get: 0 };
  const keyOf = (id: string) => keys.find((k) => k.keyId === id) ?? null;
  const entitlementOf = (tenant: string) => entitlement(tenant, tenant !== 'lapsed');
  const deps: TenantGateDeps = {
    keys: {
      lookup: async (id) => {
        calls.lookup++;
        return keyOf(id);
      },
      peek: (id) => (warm ? keyOf(id) : undefined),
    },
    entitlements: {
      get: async (tenant) => {
        calls.get++;
        return entitlementOf(tenant);
      },
      peek: (tenant) => (warm ? entitlementOf(tenant) : undefined),
    },
    limiter,
    perTenant: { limit: 3, windowMs: 60_000 },
  };
  return { deps, calls };
}

describe('verifyTenantTokenNow', () => {
  it('answers what verifyTenantToken answers, for every kind of token, first seen and remembered', async () => {
    forgetVerifiedTokens();
    const lookup = async (id: string) => keys.find((k) => k.keyId === id) ?? null;
    const peek = (id: string) => keys.find((k) => k.keyId === id) ?? null;
    for (const round of ['first', 'remembered']) {
      for (const [kind, token] of Object.entries(tokens)) {
        for (const options of [{}, { revealRevoked: true }]) {
          const slow = await outcome(() => verifyTenantToken(token, lookup, new Date(NOW), options));
          const now = await outcome(() => verifyTenantTokenNow(token, peek, new Date(NOW), options));
          expect(now, `${round} ${kind} ${JSON.stringify(options)}`).toEqual(slow);
        }
      }
    }
    expect(await outcome(() => verifyTenantTokenNow(tokens.valid!, peek, new Date(NOW)))).toMatchObject({
      ok: { tenant: 'acme', keyId: good.keyId, subject: 'u-1' },
    });
  });

  it('answers undefined, without refusing, when the key is not in memory', () => {
    expect(verifyTenantTokenNow(tokens.valid!, () => undefined, new Date(NOW))).toBeUndefined();
  });
});

describe('admitTenantNow', () => {
  it('decides a warm request at once, with the promise path’s answer or refusal', async () => {
    for (const [kind, token] of Object.entries(tokens)) {
      const warm = gateDeps(true);
      let result: unknown;
      let thrown: unknown;
      try {
        result = admitTenantNow(request(token), warm.deps, NOW);
      } catch (e) {
        thrown = e;
      }
      expect(result instanceof Promise, kind).toBe(false);
      expect(warm.calls, kind).toEqual({ lookup: 0, get: 0 });
      const cold = gateDeps(false);
      const slow = await outcome(() => admitTenant(request(token), cold.deps, NOW));
      const now = await outcome(() => {
        if (thrown !== undefined) throw thrown;
        return result;
      });
      expect(now, kind).toEqual(slow);
      if (kind === 'valid') expect(now).toMatchObject({ ok: { token: { tenant: 'acme' } } });
      else expect(now, kind).toHaveProperty('refused');
    }
    const missing = await outcome(() => admitTenantNow({ headers: {} } as Request, gateDeps(true).deps, NOW));
    expect(missing).toMatchObject({ refused: { code: 'invalid_token' } });
  });

  it('asks the caches when they cannot answer from memory, and refuses the same way', async () => {
    const cold = gateDeps(false);
    const pending = admitTenantNow(request(tokens.valid!), cold.deps, NOW);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ token: { tenant: 'acme' }, entitlement: { active: true } });
    expect(cold.calls).toEqual({ lookup: 1, get: 1 });
    await expect(admitTenantNow(request(tokens.revoked!), cold.deps, NOW)).rejects.toMatchObject({
      code: 'license_revoked',
    });
  });

  it('counts each request once against the tenant limit, whichever path it takes', async () => {
    const limiter = new MemoryRateLimiter();
    const warm = gateDeps(true, limiter);
    const cold = gateDeps(false, limiter);
    admitTenantNow(request(tokens.valid!), warm.deps, NOW);
    await admitTenantNow(request(tokens.valid!), cold.deps, NOW);
    admitTenantNow(request(tokens.valid!), warm.deps, NOW);
    // The fourth request of the window is over the limit of 3, on either path.
    expect(() => admitTenantNow(request(tokens.valid!), warm.deps, NOW)).toThrow(
      expect.objectContaining({ code: 'rate_limited' }),
    );
    await expect(admitTenantNow(request(tokens.valid!), cold.deps, NOW)).rejects.toMatchObject({
      code: 'rate_limited',
    });
  });

  it('waits for a limiter that counts elsewhere (no hitNow), even with warm caches', async () => {
    const memory = new MemoryRateLimiter();
    const remote: RateLimiter = { hit: (...args) => memory.hit(...args) };
    const pending = admitTenantNow(request(tokens.valid!), gateDeps(true, remote).deps, NOW);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ token: { tenant: 'acme' } });
  });
});

/** A limiter that counts in memory but, like the Redis one, only through promises and hitBoth. */
function pairLimiter() {
  const memory = new MemoryRateLimiter();
  const pairs: string[] = [];
  const limiter: RateLimiter = {
    hit: (...args) => memory.hit(...args),
    async hitBoth(first, then, now) {
      pairs.push(`${first.key}+${then.key}`);
      const a = memory.hitNow(first.scope, first.key, first.rule, now);
      return [a, a.allowed ? memory.hitNow(then.scope, then.key, then.rule, now) : undefined];
    },
  };
  return { limiter, pairs, memory };
}

describe('countIpAndTenant (the IP and tenant limits in one step, for a Redis limiter)', () => {
  const ip: RateHit = { scope: 'ip', key: '198.51.100.1', rule: { limit: 2, windowMs: 60_000 } };

  it('counts both for a token verified from memory; the gate then admits without counting again', async () => {
    const { limiter, pairs, memory } = pairLimiter();
    const warm = gateDeps(true, limiter);
    const early = await countIpAndTenant(request(tokens.valid!), warm.deps, ip, NOW);
    expect(pairs).toEqual(['198.51.100.1+acme']);
    expect(early).toMatchObject({ token: { tenant: 'acme' }, decision: { count: 1, allowed: true } });
    const admitted = admitTenantNow(request(tokens.valid!), warm.deps, NOW, {}, early);
    expect(admitted).toMatchObject({ token: { tenant: 'acme' }, entitlement: { active: true } });
    // The gate took the early count: the tenant's next count is 2, not 3.
    expect(memory.hitNow('tenant', 'acme', warm.deps.perTenant, NOW).count).toBe(2);
  });

  it("throws the IP's 429 when the IP is over its limit, and does not count the tenant", async () => {
    const { limiter, memory } = pairLimiter();
    const warm = gateDeps(true, limiter);
    await countIpAndTenant(request(tokens.valid!), warm.deps, ip, NOW);
    await countIpAndTenant(request(tokens.valid!), warm.deps, ip, NOW);
    await expect(countIpAndTenant(request(tokens.valid!), warm.deps, ip, NOW)).rejects.toMatchObject({
      code: 'rate_limited',
      message: 'too many requests from this address',
    });
    expect(memory.hitNow('tenant', 'acme', warm.deps.perTenant, NOW).count).toBe(3);
  });

  it("hands the gate the tenant's refusal, answered by the gate as it answers its own count", async () => {
    const { limiter } = pairLimiter();
    const warm = gateDeps(true, limiter);
    const wide: RateHit = { ...ip, rule: { limit: 100, windowMs: 60_000 } };
    for (let i = 0; i < 3; i++) await countIpAndTenant(request(tokens.valid!), warm.deps, wide, NOW);
    const fourth = await countIpAndTenant(request(tokens.valid!), warm.deps, wide, NOW);
    expect(fourth?.decision).toMatchObject({ count: 4, allowed: false });
    const early = await outcome(() => admitTenantNow(request(tokens.valid!), warm.deps, NOW, {}, fourth));
    const counted = gateDeps(true, new MemoryRateLimiter());
    for (let i = 0; i < 3; i++) admitTenantNow(request(tokens.valid!), counted.deps, NOW);
    const usual = await outcome(() => admitTenantNow(request(tokens.valid!), counted.deps, NOW));
    expect(early).toEqual(usual);
    expect(early).toMatchObject({ refused: { code: 'rate_limited' } });
  });

  it('counts nothing, leaving the IP limit and the gate to go on as before, when it cannot decide from memory', async () => {
    for (const [kind, token] of Object.entries(tokens)) {
      if (kind === 'valid' || kind === 'lapsedTenant') continue;
      const { limiter, pairs } = pairLimiter();
      expect(countIpAndTenant(request(token), gateDeps(true, limiter).deps, ip, NOW), kind).toBeUndefined();
      expect(pairs, kind).toEqual([]);
    }
    const { limiter, pairs } = pairLimiter();
    // A key not in memory: the store is not asked before the IP limit.
    const cold = gateDeps(false, limiter);
    expect(countIpAndTenant(request(tokens.valid!), cold.deps, ip, NOW)).toBeUndefined();
    expect(countIpAndTenant({ headers: {} } as Request, cold.deps, ip, NOW)).toBeUndefined();
    expect(cold.calls).toEqual({ lookup: 0, get: 0 });
    expect(pairs).toEqual([]);
    // A limiter that counts in memory: ipLimit and the gate count, without promises.
    expect(countIpAndTenant(request(tokens.valid!), gateDeps(true).deps, ip, NOW)).toBeUndefined();
  });
});
