// The small parts of the cache: entry deadlines, JSON round trip, the expiring map, the
// tenant-change parser, RedisHealth's once-per-outage logging, single-flight.
import { describe, expect, it } from 'vitest';
import {
  cacheEntryFor,
  DEFAULT_CACHE_POLICY,
  ExpiringMap,
  parseCachedEntitlement,
  parseTenantChange,
  RedisHealth,
} from '../../../src/entitlement/cache/index.js';
import { SingleFlight } from '../../../src/entitlement/service/index.js';
import type { Entitlement } from '../../../src/entitlement/types.js';
import type { Logger } from '../../../src/log/logger.js';

const active: Entitlement = { tenant: 't', active: true, state: 'active', licenses: 3, until: '2027-11-30' };
const expired: Entitlement = { tenant: 't', active: false, state: 'expired', licenses: 0, until: null };

describe('cacheEntryFor', () => {
  it('bounds fresh and stale deadlines by the policy and by the next change', () => {
    expect(cacheEntryFor(active, 1000, null, DEFAULT_CACHE_POLICY)).toEqual({
      entitlement: active,
      fetchedAt: 1000,
      freshUntil: 61_000,
      staleUntil: 361_000,
    });
    const soon = cacheEntryFor(active, 1000, new Date(11_000), DEFAULT_CACHE_POLICY);
    expect([soon.freshUntil, soon.staleUntil]).toEqual([11_000, 11_000]);
    const later = cacheEntryFor(active, 1000, new Date(100_000), DEFAULT_CACHE_POLICY);
    expect([later.freshUntil, later.staleUntil]).toEqual([61_000, 100_000]);
    expect(cacheEntryFor(expired, 1000, null, DEFAULT_CACHE_POLICY).freshUntil).toBe(6_000);
  });

  it('round-trips through JSON and refuses foreign or malformed text', () => {
    const entry = cacheEntryFor(active, 1000, null, DEFAULT_CACHE_POLICY);
    expect(parseCachedEntitlement(JSON.stringify(entry), 't')).toEqual(entry);
    expect(parseCachedEntitlement(JSON.stringify(entry), 'other')).toBeNull();
    expect(parseCachedEntitlement('{', 't')).toBeNull();
    expect(parseCachedEntitlement(JSON.stringify({ ...entry, freshUntil: 'x' }), 't')).toBeNull();
  });
});

describe('ExpiringMap', () => {
  it('forgets entries at their deadline and evicts the oldest when full', () => {
    const map = new ExpiringMap<number>(2);
    map.set('a', 1, 100);
    map.set('b', 2, 200);
    expect(map.get('a', 99)).toBe(1);
    expect(map.get('a', 100)).toBeUndefined();
    map.set('c', 3, 300);
    map.set('d', 4, 300);
    expect(map.get('b', 0)).toBeUndefined();
    expect(map.size).toBe(2);
    map.deleteWhere((v) => v === 3);
    expect(map.get('c', 0)).toBeUndefined();
  });
});

describe('parseTenantChange', () => {
  it('accepts the four kinds and refuses anything else', () => {
    expect(parseTenantChange({ tenant: 'a', kind: 'orders' })).toEqual({ tenant: 'a', kind: 'orders' });
    expect(parseTenantChange({ tenant: 'a', kind: 'key_uncertain', keyId: 'k' })).toEqual({
      tenant: 'a',
      kind: 'key_uncertain',
      keyId: 'k',
    });
    expect(parseTenantChange({ tenant: 'a', kind: 'key_revoked', keyId: 'k', origin: 'x' })).toEqual({
      tenant: 'a',
      kind: 'key_revoked',
      keyId: 'k',
    });
    expect(parseTenantChange({ tenant: 'a', kind: 'drop_tables' })).toBeNull();
    expect(parseTenantChange({ tenant: '', kind: 'orders' })).toBeNull();
    expect(parseTenantChange({ tenant: 'a', kind: 'orders', keyId: 5 })).toBeNull();
    expect(parseTenantChange('orders')).toBeNull();
  });
});

describe('RedisHealth', () => {
  it('counts every failure but logs once per outage and once on recovery', () => {
    const lines: string[] = [];
    const logger: Logger = {
      error: () => undefined,
      warn: (m) => lines.push(`warn ${m}`),
      info: (m) => lines.push(`info ${m}`),
      debug: () => undefined,
      child: () => logger,
    };
    let errors = 0;
    const health = new RedisHealth(logger, { redisError: () => errors++ });
    const changes: boolean[] = [];
    health.onChange((down) => changes.push(down));
    health.success();
    for (let i = 0; i < 5; i++) health.failure('command', new Error('ECONNREFUSED'));
    health.success();
    health.success();
    health.failure('publish', new Error('x'));
    expect(errors).toBe(6);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^warn redis unreachable/);
    expect(lines[1]).toBe('info redis reachable again');
    expect(changes).toEqual([true, false, true]);
  });
});

describe('SingleFlight', () => {
  it('shares one load among concurrent callers and starts anew after it settles or is forgotten', async () => {
    const flights = new SingleFlight<number>();
    let loads = 0;
    const load = async () => {
      const n = ++loads;
      await new Promise((r) => setTimeout(r, 10));
      return n;
    };
    const [a, b] = await Promise.all([flights.run('k', load), flights.run('k', load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    const first = flights.run('k', load);
    flights.forget('k');
    const second = flights.run('k', load);
    expect(await first).toBe(2);
    expect(await second).toBe(3);
    const failing = flights.run('f', async () => {
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    expect(flights.size).toBe(0);
  });
});
