// The store contract against the embedded file store, plus its crash safety: a fault between
// write and rename, and a writer process killed mid-loop, lose nothing acknowledged.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileStore, openStore, StoreError } from '../../src/entitlement/store/index.js';
import type { Order } from '../../src/entitlement/types.js';
import { storeContract } from './store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'icegate-store-'));
}

storeContract('file', async () => {
  const dir = await tempDir();
  return {
    open: (options = {}) => openStore({ dataDir: dir, ...options }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

const initial: Order = { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 };
const additional: Order = {
  id: 'o-2',
  kind: 'additional',
  receivedAt: '2027-03-02T09:00:00+09:00',
  licenses: 10,
};

describe('file store specifics', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function dir(): Promise<string> {
    const d = await tempDir();
    dirs.push(d);
    return d;
  }

  it('loses nothing acknowledged when a write fails between fsync and rename', async () => {
    const dataDir = await dir();
    let fail = false;
    const store = await openFileStore({
      dataDir,
      faults: {
        beforeRename: () => {
          if (fail) throw new Error('simulated crash before rename');
        },
      },
    });
    await store.importOrders('acme', [initial]);
    fail = true;
    const err = await store.importOrders('acme', [additional]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store_unavailable');
    expect((err as Error).message).toContain('simulated crash');
    // The failed write is not visible, here or to a fresh reader, and left no temp file.
    expect((await store.listOrders('acme')).map((o) => o.id)).toEqual(['o-1']);
    const reader = await openFileStore({ dataDir });
    expect((await reader.listOrders('acme')).map((o) => o.id)).toEqual(['o-1']);
    expect((await readdir(dataDir)).sort()).toEqual(['entitlements.json']);
    fail = false;
    await store.importOrders('acme', [additional]);
    expect((await reader.listOrders('acme')).map((o) => o.id)).toEqual(['o-1', 'o-2']);
    await store.close();
    await reader.close();
  });

  it('keeps the old key active and stores no new key when a reissue write crashes', async () => {
    const dataDir = await dir();
    let fail = false;
    const store = await openFileStore({
      dataDir,
      faults: {
        beforeRename: () => {
          if (fail) throw new Error('simulated crash before rename');
        },
      },
    });
    await store.importOrders('acme', [initial]);
    const issuedAt = new Date('2027-01-01T00:00:00Z');
    await store.issueKey('acme', { keyId: 'k-1', serverIdentity: 'old', secret: 's1', issuedAt });
    fail = true;
    const err = await store
      .reissueKey('acme', { keyId: 'k-2', serverIdentity: 'new', secret: 's2', issuedAt })
      .catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('store_unavailable');
    for (const s of [store, await openFileStore({ dataDir })]) {
      expect((await s.listKeys('acme')).map((k) => [k.keyId, k.revokedAt, k.replacedBy])).toEqual([
        ['k-1', null, null],
      ]);
      expect(await s.getKey('k-2')).toBeNull();
    }
    await store.close();
  });

  it('writes the document with owner-only permissions (it holds key secrets)', async () => {
    const dataDir = await dir();
    const store = await openFileStore({ dataDir });
    await store.importOrders('acme', [initial]);
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dataDir, 'entitlements.json'))).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('sees writes of another store on the same directory (the CLI next to a running node)', async () => {
    const dataDir = await dir();
    const node = await openFileStore({ dataDir });
    const cli = await openFileStore({ dataDir });
    await cli.importOrders('acme', [initial]);
    expect(await node.orderHistory('acme')).not.toBeNull();
    await node.importOrders('acme', [additional]);
    expect((await cli.listOrders('acme')).map((o) => o.id)).toEqual(['o-1', 'o-2']);
    await node.close();
    await cli.close();
  });

  it('breaks a lock left by a dead process, and times out on a live holder', async () => {
    const dataDir = await dir();
    const { hostname } = await import('node:os');
    // 2^22 + 1 is above the largest pid Linux can hand out, so no live process has it.
    await writeFile(join(dataDir, 'entitlements.lock'), `4194305\n${hostname()}\nstale`);
    const store = await openFileStore({ dataDir, lockTimeoutMs: 300 });
    await store.importOrders('acme', [initial]);
    expect((await readdir(dataDir)).sort()).toEqual(['entitlements.json']);

    await writeFile(join(dataDir, 'entitlements.lock'), `${process.ppid}\n${hostname()}\nlive`);
    const err = await store.importOrders('acme', [additional]).catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('store_locked');
    expect((err as Error).message).toContain(String(process.ppid));
    await rm(join(dataDir, 'entitlements.lock'));
    await store.importOrders('acme', [additional]);
    await store.close();
  });

  it('refuses a corrupt document with store_corrupt and a version from the future', async () => {
    const dataDir = await dir();
    await writeFile(join(dataDir, 'entitlements.json'), '{"format":"icegate-entitlements","version":1,');
    expect(((await openFileStore({ dataDir }).catch((e: unknown) => e)) as StoreError).code).toBe(
      'store_corrupt',
    );
    await writeFile(
      join(dataDir, 'entitlements.json'),
      JSON.stringify({ format: 'icegate-entitlements', version: 7 }),
    );
    const err = (await openFileStore({ dataDir }).catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe('store_corrupt');
    expect(err.message).toContain('newer icegate');
  });

  it('loads a version 1 document (written before request hashes) and upgrades it on the next write', async () => {
    const dataDir = await dir();
    const oldKey = {
      keyId: 'lk_aaaaaaaaaaaaaaaaaaaa',
      tenant: 'acme',
      serverIdentity: 'neo.example.jp',
      secret: 'secret-of-old',
      issuedAt: '2027-01-01T00:00:00.000Z',
      revokedAt: null,
      replacedBy: null,
    };
    await writeFile(
      join(dataDir, 'entitlements.json'),
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 1,
        tenants: [{ id: 'acme', name: null, createdAt: '2027-01-01T00:00:00.000Z' }],
        orders: [],
        keys: [oldKey],
        usage: [],
      }),
    );
    const store = await openFileStore({ dataDir });
    const read = await store.getKey(oldKey.keyId);
    expect(read?.secret).toBe('secret-of-old');
    expect(read?.requestHash).toBeNull();
    const hash = 'c3'.repeat(32);
    await store.reissueKey('acme', {
      keyId: 'lk_bbbbbbbbbbbbbbbbbbbb',
      serverIdentity: 'new-host',
      secret: 'secret-of-new',
      issuedAt: new Date('2027-02-01T00:00:00Z'),
      requestHash: hash,
    });
    const doc = JSON.parse(await readFile(join(dataDir, 'entitlements.json'), 'utf8'));
    expect(doc.version).toBe(3);
    expect(doc.keys.map((k: { requestHash: string | null }) => k.requestHash)).toEqual([null, hash]);
    expect(doc.keys.map((k: { replaces: string | null }) => k.replaces)).toEqual([null, null]);
    expect(doc.audit).toEqual([
      expect.objectContaining({ seq: 1, action: 'key_reissued', keyId: 'lk_bbbbbbbbbbbbbbbbbbbb' }),
    ]);
    expect((await store.getKey(oldKey.keyId))?.replacedBy).toBe('lk_bbbbbbbbbbbbbbbbbbbb');
    await store.close();
  });

  it('loads a version 2 document (written before the audit trail) with an empty trail, and writes version 3', async () => {
    const dataDir = await dir();
    const hash = 'e5'.repeat(32);
    const v2Key = {
      keyId: 'lk_aaaaaaaaaaaaaaaaaaaa',
      tenant: 'acme',
      serverIdentity: 'neo.example.jp',
      secret: 'secret-of-v2',
      issuedAt: '2027-01-01T00:00:00.000Z',
      revokedAt: null,
      replacedBy: null,
      requestHash: hash,
    };
    await writeFile(
      join(dataDir, 'entitlements.json'),
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 2,
        tenants: [{ id: 'acme', name: null, createdAt: '2027-01-01T00:00:00.000Z' }],
        orders: [],
        keys: [v2Key],
        usage: [],
      }),
    );
    const store = await openFileStore({ dataDir });
    expect((await store.getKey(v2Key.keyId))?.requestHash).toBe(hash);
    expect(await store.listAudit({})).toEqual({ records: [], next: null });
    // A compare-and-set reissue on the version 2 key; then revoking the old key reaches the new one.
    await store.reissueKey(
      'acme',
      {
        keyId: 'lk_cccccccccccccccccccc',
        serverIdentity: 'new-host',
        secret: 'secret-of-new',
        issuedAt: new Date('2027-02-01T00:00:00Z'),
      },
      { replaces: v2Key.keyId, audit: { actor: 'key:lk_aaaaaaaaaaaaaaaaaaaa', client: '192.0.2.1' } },
    );
    const doc = JSON.parse(await readFile(join(dataDir, 'entitlements.json'), 'utf8'));
    expect(doc.version).toBe(3);
    expect(doc.keys.map((k: { replaces: string | null }) => k.replaces)).toEqual([null, v2Key.keyId]);
    const revoked = await store.revokeKey(v2Key.keyId, new Date('2027-02-02T00:00:00Z'));
    expect(revoked.revoked).toEqual(['lk_cccccccccccccccccccc']);
    expect((await store.listAudit({})).records.map((r) => [r.seq, r.action, r.outcome])).toEqual([
      [1, 'key_reissued', 'ok'],
      [2, 'key_revoked', 'ok'],
    ]);
    await store.close();
  });

  it('refuses a version 3 document whose audit sequence has a gap', async () => {
    const dataDir = await dir();
    const record = {
      at: '2027-01-01T00:00:00.000Z',
      tenant: 'acme',
      action: 'key_issued',
      outcome: 'ok',
      actor: 'cli:ops',
      client: null,
      keyId: 'lk_aaaaaaaaaaaaaaaaaaaa',
      details: {},
    };
    await writeFile(
      join(dataDir, 'entitlements.json'),
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 3,
        tenants: [],
        orders: [],
        keys: [],
        usage: [],
        audit: [
          { ...record, seq: 1 },
          { ...record, seq: 3 },
        ],
      }),
    );
    expect(((await openFileStore({ dataDir }).catch((e: unknown) => e)) as StoreError).code).toBe(
      'store_corrupt',
    );
  });

  it('removes temp files of dead writers when opening', async () => {
    const dataDir = await dir();
    await writeFile(join(dataDir, 'entitlements.json.4194305.abcdef.tmp'), '{"half');
    const store = await openFileStore({ dataDir });
    expect(await readdir(dataDir)).toEqual([]);
    await store.importOrders('acme', [initial]);
    expect(JSON.parse(await readFile(join(dataDir, 'entitlements.json'), 'utf8')).orders).toHaveLength(1);
    await store.close();
  });
});
