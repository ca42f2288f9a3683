// LicenseKeyCache: one store read per key id per TTL, invalidation by tenant events, negative
// entries for unknown ids, and stale service while the store is down.
import { describe, expect, it } from 'vitest';
import { LicenseKeyCache, LocalTenantEvents } from '../../../src/entitlement/cache/index.js';
import { EntitlementUnavailable } from '../../../src/entitlement/service/index.js';
import { StoredKey } from '../../../src/entitlement/store/index.js';
import { silentLogger } from '../../../src/log/logger.js';

function key(keyId: string, tenant: string, revoked = false): StoredKey {
  return new StoredKey({
    keyId,
    tenant,
    serverIdentity: 'neo',
    secret: `secret-${keyId}`,
    issuedAt: new Date(0),
    revokedAt: revoked ? new Date(1) : null,
    replacedBy: null,
  });
}

function setup() {
  let now = 1_000_000;
  const keys = new Map<string, StoredKey>();
  const store = {
    calls: 0,
    failing: false,
    async getKey(id: string) {
      store.calls++;
      if (store.failing) throw new Error('down');
      return keys.get(id) ?? null;
    },
  };
  const events = new LocalTenantEvents(silentLogger);
  const cache = new LicenseKeyCache({ store, events, logger: silentLogger, clock: () => now });
  return { keys, store, events, cache, advance: (ms: number) => (now += ms) };
}

describe('LicenseKeyCache', () => {
  it('reads a key once per 60 s and an unknown id once per 5 s', async () => {
    const t = setup();
    t.keys.set('lk_a', key('lk_a', 'acme'));
    expect((await t.cache.lookup('lk_a'))?.tenant).toBe('acme');
    expect(await t.cache.lookup('lk_none')).toBeNull();
    t.advance(4_999);
    await t.cache.lookup('lk_a');
    await t.cache.lookup('lk_none');
    expect(t.store.calls).toBe(2);
    t.advance(1);
    await t.cache.lookup('lk_none');
    expect(t.store.calls).toBe(3);
    t.advance(55_000);
    await t.cache.lookup('lk_a');
    expect(t.store.calls).toBe(4);
  });

  it('peek answers from memory only: a fresh key, a fresh unknown id (null), else undefined', async () => {
    const t = setup();
    t.keys.set('lk_a', key('lk_a', 'acme'));
    expect(t.cache.peek('lk_a')).toBeUndefined();
    await t.cache.lookup('lk_a');
    await t.cache.lookup('lk_none');
    expect(t.cache.peek('lk_a')?.tenant).toBe('acme');
    expect(t.cache.peek('lk_none')).toBeNull();
    await t.events.publish({ tenant: 'acme', kind: 'key_revoked', keyId: 'lk_a' });
    expect(t.cache.peek('lk_a')).toBeUndefined();
    t.advance(5_000);
    expect(t.cache.peek('lk_none')).toBeUndefined();
    expect(t.store.calls).toBe(2);
  });

  it('drops the keys of a tenant on its events, so a revocation is seen at once', async () => {
    const t = setup();
    t.keys.set('lk_a', key('lk_a', 'acme'));
    t.keys.set('lk_b', key('lk_b', 'other'));
    await t.cache.lookup('lk_a');
    await t.cache.lookup('lk_b');
    t.keys.set('lk_a', key('lk_a', 'acme', true));
    await t.events.publish({ tenant: 'acme', kind: 'key_revoked', keyId: 'lk_a' });
    expect((await t.cache.lookup('lk_a'))?.revoked).toBe(true);
    await t.cache.lookup('lk_b');
    expect(t.store.calls).toBe(3);
  });

  it('re-reads a key whose reissue had an unknown outcome (key_uncertain)', async () => {
    const t = setup();
    t.keys.set('lk_a', key('lk_a', 'acme'));
    expect((await t.cache.lookup('lk_a'))?.revoked).toBe(false);
    // The reissue committed but its answer was lost: the store has the key revoked.
    t.keys.set('lk_a', key('lk_a', 'acme', true));
    await t.events.publish({ tenant: 'acme', kind: 'key_uncertain', keyId: 'lk_a' });
    expect((await t.cache.lookup('lk_a'))?.revoked).toBe(true);
  });

  it('forgets that an id was unknown when a key is issued', async () => {
    const t = setup();
    expect(await t.cache.lookup('lk_new')).toBeNull();
    t.keys.set('lk_new', key('lk_new', 'acme'));
    await t.events.publish({ tenant: 'acme', kind: 'key_issued', keyId: 'lk_new' });
    expect((await t.cache.lookup('lk_new'))?.keyId).toBe('lk_new');
  });

  it('serves a known key while the store is down, and fails closed for an unseen one', async () => {
    const t = setup();
    t.keys.set('lk_a', key('lk_a', 'acme'));
    await t.cache.lookup('lk_a');
    t.store.failing = true;
    t.advance(61_000);
    expect((await t.cache.lookup('lk_a'))?.keyId).toBe('lk_a');
    await expect(t.cache.lookup('lk_b')).rejects.toBeInstanceOf(EntitlementUnavailable);
    t.advance(300_000);
    await expect(t.cache.lookup('lk_a')).rejects.toBeInstanceOf(EntitlementUnavailable);
  });
});
