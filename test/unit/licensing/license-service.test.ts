import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EntitlementStore, openFileStore, StoreError } from '../../../src/entitlement/store/index.js';
import type { Order } from '../../../src/entitlement/types.js';
import {
  LicenseError,
  LicenseService,
  parseLicenseKey,
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

  it('revokes by key id and checks the id format', async () => {
    const { issued } = await service.issue('acme', 'h');
    const result = await service.revoke(issued.keyId, new Date('2027-02-01T00:00:00Z'));
    expect(result.changes.revokedKeys).toEqual([issued.keyId]);
    expect((await failure(service.revoke('not-a-key-id'))).code).toBe('invalid_key_id');
    expect((await failure(service.revoke('lk_aaaaaaaaaaaaaaaaaaaa'))).code).toBe('unknown_key');
  });
});
