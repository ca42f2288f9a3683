import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type EntitlementStore,
  openFileStore,
  StoredKey,
  StoreError,
} from '../../../src/entitlement/store/index.js';
import type { Order } from '../../../src/entitlement/types.js';
import {
  LicenseError,
  LicenseService,
  parseLicenseKey,
  reissueRequestHash,
  verifyTenantToken,
} from '../../../src/licensing/index.js';

// Support 2026-11-24 .. 2027-11-30; a late renewal received 2028-01-15 gives 2028-02-01 .. 2029-01-31.
const initial: Order = { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 };
const lateRenewal: Order = {
  id: 'o-2',
  kind: 'renewal',
  receivedAt: '2028-01-15T10:00:00+09:00',
  licenses: 50,
};

let dir: string;
let store: EntitlementStore;
let service: LicenseService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icegate-license-'));
  store = await openFileStore({ dataDir: dir });
  service = new LicenseService(store);
  await store.importOrders('acme', [initial]);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<Error & { code: string }> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !('code' in err))
    throw new Error(`expected a coded error, got ${String(err)}`);
  return err as Error & { code: string };
}

describe('LicenseService', () => {
  it('issues a key whose text parses and whose secret signs tokens the gate verifies', async () => {
    const now = new Date('2027-01-10T00:00:00Z');
    const { issued, changes } = await service.issue('acme', '  neo.example.jp ', now);
    expect(changes).toEqual({ tenants: ['acme'], revokedKeys: [] });
    const parsed = parseLicenseKey(issued.reveal());
    expect(parsed?.keyId).toBe(issued.keyId);
    const stored = await store.getKey(issued.keyId);
    expect(stored?.serverIdentity).toBe('neo.example.jp');
    expect(stored?.issuedAt.toISOString()).toBe(now.toISOString());
    const token = jwt.sign({ exp: Math.floor(now.getTime() / 1000) + 300 }, parsed!.secret, {
      keyid: parsed!.keyId,
    });
    const verified = await verifyTenantToken(token, (id) => store.getKey(id), now);
    expect(verified.tenant).toBe('acme');
  });

  it('never shows the secret through JSON, util.inspect or string interpolation', async () => {
    const { issued } = await service.issue('acme', 'neo.example.jp');
    const secret = parseLicenseKey(issued.reveal())!.secret;
    const stored = (await store.getKey(issued.keyId))!;
    for (const shown of [
      JSON.stringify(issued),
      JSON.stringify({ nested: { issued, stored } }),
      inspect(issued),
      inspect(stored),
      inspect({ deep: { deeper: [stored] } }, { depth: 10 }),
      `${String(stored)} ${String(issued)}`,
      JSON.stringify(await store.listKeys('acme')),
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(JSON.stringify(stored)).toContain('[redacted]');
    expect(inspect(stored)).toContain(issued.keyId);
    expect(stored.secret).toBe(secret);
    expect(Object.keys(stored)).not.toContain('secret');
  });

  it('refuses a second issue for a tenant that holds an active key, and unknown tenants', async () => {
    await service.issue('acme', 'a');
    expect((await failure(service.issue('acme', 'b'))).code).toBe('active_key_exists');
    expect((await failure(service.issue('nobody', 'b'))).code).toBe('unknown_tenant');
    const bad = await failure(service.issue('acme', ''));
    expect(bad).toBeInstanceOf(LicenseError);
    expect(bad.code).toBe('invalid_server_identity');
  });

  it('reissues while support is active: new key for the new server, old key revoked at once', async () => {
    const first = await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    const now = new Date('2027-06-01T00:00:00Z');
    const second = await service.reissue('acme', 'new-host', now);
    expect(second.revoked).toEqual([first.issued.keyId]);
    expect(second.changes.revokedKeys).toEqual([first.issued.keyId]);
    expect(second.entitlement.state).toBe('active');
    expect(second.issued.keyId).not.toBe(first.issued.keyId);
    expect((await store.getKey(first.issued.keyId))?.revokedAt?.toISOString()).toBe(now.toISOString());
    expect((await store.getKey(first.issued.keyId))?.replacedBy).toBe(second.issued.keyId);
    expect((await store.getKey(second.issued.keyId))?.serverIdentity).toBe('new-host');

    // Tokens signed with the old key are refused from now on.
    const old = parseLicenseKey(first.issued.reveal())!;
    const token = jwt.sign({ exp: Math.floor(now.getTime() / 1000) + 60 }, old.secret, { keyid: old.keyId });
    await expect(verifyTenantToken(token, (id) => store.getKey(id), now)).rejects.toMatchObject({
      code: 'license_revoked',
    });
  });

  it.each([
    ['after support expired', [initial], '2028-01-10T00:00:00Z', 0, 'support has expired'],
    [
      'in the gap before a late renewal starts',
      [initial, lateRenewal],
      '2028-01-20T00:00:00Z',
      0,
      'not started',
    ],
    ['before any order is received', [initial], '2026-11-01T00:00:00Z', 0, 'no accepted support order'],
  ])('refuses reissue %s with support_inactive', async (_name, orders, at, graceDays, reason) => {
    await store.importOrders('acme', orders);
    await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    const err = await failure(service.reissue('acme', 'new-host', new Date(at), { graceDays }));
    expect(err).toBeInstanceOf(LicenseError);
    expect(err.code).toBe('support_inactive');
    expect(err.message).toContain(reason);
    // Nothing changed: the old key is still the only, active key.
    const keys = await store.listKeys('acme');
    expect(keys.map((k) => k.revoked)).toEqual([false]);
  });

  it('allows reissue in grace, from the call or from the service options', async () => {
    await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    const inGrace = new Date('2027-12-05T00:00:00Z');
    const byCall = await service.reissue('acme', 'h2', inGrace, { graceDays: 7 });
    expect(byCall.entitlement.state).toBe('grace');
    const graceful = new LicenseService(store, { graceDays: 7 });
    await expect(graceful.reissue('acme', 'h3', inGrace)).resolves.toBeDefined();
    expect((await failure(service.reissue('acme', 'h4', inGrace))).code).toBe('support_inactive');
  });

  it('refuses reissue for an unknown tenant', async () => {
    const err = await failure(service.reissue('nobody', 'h', new Date('2027-01-10T00:00:00Z')));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe('unknown_tenant');
  });

  it('stores the hash of tenant and Idempotency-Key with the reissued key, never the value itself', async () => {
    await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    const value = 'b7c1d2e3-0000-4000-8000-000000000001';
    const { issued } = await service.reissue('acme', 'new-host', new Date('2027-06-01T00:00:00Z'), {
      idempotencyKey: value,
    });
    expect((await store.getKey(issued.keyId))?.requestHash).toBe(reissueRequestHash('acme', value));
    expect(await readFile(join(dir, 'entitlements.json'), 'utf8')).not.toContain(value);
    const plain = await service.reissue('acme', 'newer-host', new Date('2027-06-02T00:00:00Z'));
    expect((await store.getKey(plain.issued.keyId))?.requestHash).toBeNull();
  });

  it('says when a reissue write failed as unavailable (it may have committed), and only then', async () => {
    await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    const unavailable = new StoreError('store_unavailable', 'connection terminated');
    const failing = (where: 'read' | 'write' | 'other'): EntitlementStore =>
      new Proxy(store, {
        get(target, prop) {
          if (where === 'read' && prop === 'orderHistory') return () => Promise.reject(unavailable);
          if (where === 'write' && prop === 'reissueKey') return () => Promise.reject(unavailable);
          if (where === 'other' && prop === 'reissueKey') {
            return () => Promise.reject(new StoreError('unknown_tenant', 'gone'));
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const at = new Date('2027-06-01T00:00:00Z');
    const calls: string[] = [];
    for (const where of ['read', 'write', 'other'] as const) {
      const err = await failure(
        new LicenseService(failing(where)).reissue('acme', 'new-host', at, {
          onOutcomeUnknown: () => {
            calls.push(where);
            throw new Error('a failing notice does not replace the store error');
          },
        }),
      );
      expect(err.code).toBe(where === 'other' ? 'unknown_tenant' : 'store_unavailable');
    }
    // Nothing is written before the order history is read; only the write's failure is unknown.
    expect(calls).toEqual(['write']);
  });

  it('revokes by key id and checks the id format', async () => {
    const { issued } = await service.issue('acme', 'h');
    const result = await service.revoke(issued.keyId, new Date('2027-02-01T00:00:00Z'));
    expect(result.changes.revokedKeys).toEqual([issued.keyId]);
    expect((await failure(service.revoke('not-a-key-id'))).code).toBe('invalid_key_id');
    expect((await failure(service.revoke('lk_aaaaaaaaaaaaaaaaaaaa'))).code).toBe('unknown_key');
  });
});

describe('LicenseService.replayReissue', () => {
  const VALUE = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
  const issuedAt = new Date('2027-06-01T00:00:00Z');
  let oldKeyId: string;
  let newKey: { keyId: string; text: string };

  beforeEach(async () => {
    const first = await service.issue('acme', 'old-host', new Date('2027-01-10T00:00:00Z'));
    oldKeyId = first.issued.keyId;
    const second = await service.reissue('acme', 'new-host', issuedAt, { idempotencyKey: VALUE });
    newKey = { keyId: second.issued.keyId, text: second.issued.reveal() };
  });

  async function oldKey() {
    const key = await store.getKey(oldKeyId);
    if (key === null) throw new Error('old key missing');
    return key;
  }

  it('answers the key the original request created, for the same value and server, and writes nothing', async () => {
    const before = await readFile(join(dir, 'entitlements.json'), 'utf8');
    const later = new Date(issuedAt.getTime() + 60_000);
    const replayed = await service.replayReissue(await oldKey(), VALUE, 'new-host', later);
    expect(replayed?.keyId).toBe(newKey.keyId);
    expect(replayed?.reveal()).toBe(newKey.text);
    // The route normalises the server the same way (surrounding spaces).
    expect((await service.replayReissue(await oldKey(), VALUE, '  new-host ', later))?.keyId).toBe(
      newKey.keyId,
    );
    expect(await readFile(join(dir, 'entitlements.json'), 'utf8')).toBe(before);
    expect(await store.listKeys('acme')).toHaveLength(2);
  });

  it.each([
    ['another Idempotency-Key', { value: 'f47ac10b-58cc-4372-a567-0e02b2c3d470' }],
    ['another server', { server: 'other-host' }],
    ['an invalid server', { server: '' }],
    ['more than 24 hours later', { at: issuedAt.getTime() + 24 * 3600_000 + 1 }],
  ])('refuses %s', async (_name, change: { value?: string; server?: string; at?: number }) => {
    const at = new Date(change.at ?? issuedAt.getTime() + 1000);
    const replayed = await service.replayReissue(
      await oldKey(),
      change.value ?? VALUE,
      change.server ?? 'new-host',
      at,
    );
    expect(replayed).toBeNull();
  });

  it('replays up to exactly 24 hours after the reissue', async () => {
    const at = new Date(issuedAt.getTime() + 24 * 3600_000);
    expect((await service.replayReissue(await oldKey(), VALUE, 'new-host', at))?.keyId).toBe(newKey.keyId);
  });

  it('refuses once the successor itself was reissued or revoked', async () => {
    await service.reissue('acme', 'third-host', new Date(issuedAt.getTime() + 1000), {
      idempotencyKey: 'another-value',
    });
    expect(await service.replayReissue(await oldKey(), VALUE, 'new-host', issuedAt)).toBeNull();
  });

  it('refuses for a key that is not revoked, or a successor created without an Idempotency-Key', async () => {
    const active = await store.getKey(newKey.keyId);
    expect(await service.replayReissue(active!, VALUE, 'new-host', issuedAt)).toBeNull();
    // Even a record that names a successor (none does in the store) replays nothing unless revoked.
    const old = await oldKey();
    const unrevoked = new StoredKey({ ...old, secret: old.secret, revokedAt: null });
    expect(await service.replayReissue(unrevoked, VALUE, 'new-host', issuedAt)).toBeNull();
    const plain = await service.reissue('acme', 'plain-host', new Date(issuedAt.getTime() + 1000));
    const revoked = await store.getKey(newKey.keyId);
    expect(revoked?.replacedBy).toBe(plain.issued.keyId);
    expect(await service.replayReissue(revoked!, VALUE, 'plain-host', issuedAt)).toBeNull();
  });
});

describe('LicenseService compare-and-set reissue', () => {
  it('refuses with license_revoked, naming the key, once the signing key is no longer active; writes nothing', async () => {
    const now = new Date('2027-01-10T00:00:00Z');
    const { issued } = await service.issue('acme', 'neo.example.jp', now);
    const first = await service.reissue('acme', 'neo2.example.jp', now, {
      replaces: issued.keyId,
      audit: { actor: `key:${issued.keyId}`, client: '192.0.2.1' },
    });
    expect(first.revoked).toEqual([issued.keyId]);
    const err = await failure(service.reissue('acme', 'thief.example.org', now, { replaces: issued.keyId }));
    expect(err.code).toBe('license_revoked');
    expect(err).toMatchObject({ revokedKey: { keyId: issued.keyId, tenant: 'acme' } });
    expect((await store.listKeys('acme')).map((k) => k.keyId).sort()).toEqual(
      [issued.keyId, first.issued.keyId].sort(),
    );
    // An admin reissue names no key and replaces whichever is active.
    const admin = await service.reissue('acme', 'owner.example.jp', now, {
      audit: { actor: 'admin', client: null },
    });
    expect(admin.revoked).toEqual([first.issued.keyId]);
    const trail = await store.listAudit({ tenant: 'acme' });
    expect(trail.records.map((r) => [r.action, r.actor])).toEqual([
      ['orders_imported', 'unspecified'],
      ['key_issued', 'unspecified'],
      ['key_reissued', `key:${issued.keyId}`],
      ['key_reissued', 'admin'],
    ]);
  });
});
