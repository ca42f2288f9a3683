// The contract every EntitlementStore implementation passes (PostgreSQL and file). Each test
// gets a fresh location (schema or directory) from the harness.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeTimeline } from '../../src/entitlement/rules/index.js';
import {
  type AuditListener,
  type AuditRecord,
  type EntitlementStore,
  isStoreError,
  type NewKey,
  StoreError,
} from '../../src/entitlement/store/index.js';
import type { Order } from '../../src/entitlement/types.js';

/** A fresh store location: open it (any number of times, also concurrently), then dispose of it. */
export interface StoreHarness {
  open(options?: { onAudit?: AuditListener }): Promise<EntitlementStore>;
  dispose(): Promise<void>;
}

const initial: Order = { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 };
const additional: Order = {
  id: 'o-2',
  kind: 'additional',
  receivedAt: '2027-03-02T09:00:00+09:00',
  licenses: 10,
};
const earlyRecontinuation: Order = {
  id: 'o-3',
  kind: 'recontinuation',
  receivedAt: '2027-05-01T09:00:00+09:00',
  licenses: 50,
};
const renewal: Order = { id: 'o-4', kind: 'renewal', receivedAt: '2027-11-10T09:00:00+09:00', licenses: 50 };
const secondInitial: Order = {
  id: 'o-5',
  kind: 'initial',
  receivedAt: '2027-06-01T09:00:00+09:00',
  licenses: 5,
};
const certified: Order = {
  id: 'o-6',
  kind: 'renewal',
  receivedAt: '2028-11-01T09:00:00+09:00',
  licenses: 40,
  certificate: { start: '2028-12-01', end: '2029-11-30' },
};

function key(id: string, server = 'neo.example.jp', issuedAt = new Date('2026-12-01T00:00:00Z')): NewKey {
  return { keyId: id, serverIdentity: server, secret: `secret-of-${id}`, issuedAt };
}

async function rejection(p: Promise<unknown>): Promise<StoreError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof StoreError)) throw new Error(`expected a StoreError, got ${String(err)}`);
  return err;
}

/** Registers the contract suite for one store implementation. */
export function storeContract(label: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`EntitlementStore contract: ${label}`, () => {
    let harness: StoreHarness;
    let store: EntitlementStore;
    const extra: EntitlementStore[] = [];

    async function another(): Promise<EntitlementStore> {
      const s = await harness.open();
      extra.push(s);
      return s;
    }

    let opened = false;

    beforeEach(async () => {
      opened = false;
      harness = await makeHarness();
      store = await harness.open();
      opened = true;
    });

    afterEach(async () => {
      if (!opened) return;
      for (const s of extra.splice(0)) await s.close();
      await store.close();
      await harness.dispose();
    });

    it('imports orders and reports accepted and rejected ones with their codes', async () => {
      const at = new Date('2027-12-01T00:00:00Z');
      const result = await store.importOrders(
        'acme',
        [initial, additional, earlyRecontinuation, renewal, secondInitial],
        {
          now: at,
        },
      );
      expect(result.tenant).toBe('acme');
      expect(result.accepted.sort()).toEqual(['o-1', 'o-2', 'o-4']);
      expect(result.rejected.map((r) => [r.order, r.code]).sort()).toEqual([
        ['o-3', 'renewal_applies'],
        ['o-5', 'already_initialised'],
      ]);
      for (const r of result.rejected) expect(r.message.length).toBeGreaterThan(10);
      expect(result.unchanged).toEqual([]);
      expect(result.changes).toEqual({ tenants: ['acme'], revokedKeys: [] });

      const stored = await store.listOrders('acme');
      expect(stored.map((o) => o.id)).toEqual(['o-1', 'o-2', 'o-3', 'o-5', 'o-4']);
      const byId = new Map(stored.map((o) => [o.id, o]));
      expect(byId.get('o-1')).toMatchObject({
        tenant: 'acme',
        status: 'accepted',
        rejection: null,
        licenses: 50,
      });
      expect(byId.get('o-3')?.status).toBe('rejected');
      expect(byId.get('o-3')?.rejection?.code).toBe('renewal_applies');
      expect(byId.get('o-5')?.rejection?.code).toBe('already_initialised');
      expect(byId.get('o-1')?.importedAt.toISOString()).toBe(at.toISOString());
      expect(Date.parse(byId.get('o-1')?.receivedAt ?? '')).toBe(Date.parse(initial.receivedAt));
    });

    it('keeps certificates and gives the rules back the same timeline', async () => {
      const orders = [initial, renewal, certified];
      await store.importOrders('acme', orders);
      const history = await store.orderHistory('acme');
      expect(history).not.toBeNull();
      expect(history?.orders.find((o) => o.id === 'o-6')?.certificate).toEqual(certified.certificate);
      expect(history?.orders.find((o) => o.id === 'o-1')?.certificate).toBeUndefined();
      expect(computeTimeline(history!)).toEqual(computeTimeline({ tenant: 'acme', orders }));
    });

    it('treats a re-import of identical orders as a no-op, whatever offset the instant is written in', async () => {
      await store.importOrders('acme', [initial, additional], { now: new Date('2027-01-01T00:00:00Z') });
      const again = await store.importOrders(
        'acme',
        [additional, { ...initial, receivedAt: '2026-11-24T01:00:00Z' }],
        { now: new Date('2027-02-01T00:00:00Z') },
      );
      expect(again).toMatchObject({
        accepted: [],
        rejected: [],
        unchanged: ['o-2', 'o-1'],
        statusChanged: [],
      });
      expect(again.changes).toEqual({ tenants: [], revokedKeys: [] });
      const stored = await store.listOrders('acme');
      expect(stored).toHaveLength(2);
      for (const o of stored) expect(o.importedAt.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    });

    it('reports unchanged and new orders of one import separately', async () => {
      await store.importOrders('acme', [initial]);
      const result = await store.importOrders('acme', [initial, additional]);
      expect(result.unchanged).toEqual(['o-1']);
      expect(result.accepted).toEqual(['o-2']);
    });

    it('refuses an order id reused with different content, and writes nothing of that import', async () => {
      await store.importOrders('acme', [initial]);
      const err = await rejection(store.importOrders('acme', [additional, { ...initial, licenses: 51 }]));
      expect(err.code).toBe('order_conflict');
      expect(err.message).toContain('o-1');
      expect(err.message).toContain('licenses');
      expect((await store.listOrders('acme')).map((o) => o.id)).toEqual(['o-1']);

      for (const changed of [
        { ...initial, kind: 'renewal' as const },
        { ...initial, receivedAt: '2026-11-24T10:00:01+09:00' },
        { ...initial, certificate: { start: '2026-12-01', end: '2027-11-30' } },
      ]) {
        expect((await rejection(store.importOrders('acme', [changed]))).code).toBe('order_conflict');
      }
    });

    it('refuses one id twice with different content inside one import', async () => {
      const err = await rejection(store.importOrders('acme', [initial, { ...initial, licenses: 3 }]));
      expect(err.code).toBe('order_conflict');
      expect(await store.getTenant('acme')).toBeNull();
    });

    it('recomputes and persists the status of earlier orders when a new order sorts before them', async () => {
      const first = await store.importOrders('acme', [renewal]);
      expect(first.rejected).toEqual([expect.objectContaining({ order: 'o-4', code: 'no_prior_support' })]);
      const second = await store.importOrders('acme', [initial]);
      expect(second.accepted).toEqual(['o-1']);
      expect(second.statusChanged).toEqual(['o-4']);
      const o4 = (await store.listOrders('acme')).find((o) => o.id === 'o-4');
      expect(o4).toMatchObject({ status: 'accepted', rejection: null });
    });

    it('lists tenants and answers null or empty for unknown ones', async () => {
      await store.importOrders('zeta', [initial], { now: new Date('2027-01-01T00:00:00Z') });
      await store.importOrders('acme', [initial], {
        now: new Date('2027-01-02T00:00:00Z'),
        tenantName: 'Acme KK',
      });
      const tenants = await store.listTenants();
      expect(tenants.map((t) => t.id)).toEqual(['acme', 'zeta']);
      expect(tenants[0]).toEqual({
        id: 'acme',
        name: 'Acme KK',
        createdAt: new Date('2027-01-02T00:00:00Z'),
      });
      expect(tenants[1]?.name).toBeNull();
      expect(await store.getTenant('nobody')).toBeNull();
      expect(await store.orderHistory('nobody')).toBeNull();
      expect(await store.listOrders('nobody')).toEqual([]);
      expect(await store.listKeys('nobody')).toEqual([]);
    });

    it('creates a tenant from an import with no orders', async () => {
      const result = await store.importOrders('empty', []);
      expect(result.changes.tenants).toEqual(['empty']);
      expect(await store.orderHistory('empty')).toEqual({ tenant: 'empty', orders: [] });
    });

    it('issues one active key per tenant and keeps its secret', async () => {
      await store.importOrders('acme', [initial]);
      await store.importOrders('beta', [initial]);
      expect((await rejection(store.issueKey('nobody', key('k-0')))).code).toBe('unknown_tenant');

      const issued = await store.issueKey('acme', key('k-1'));
      expect(issued.changes).toEqual({ tenants: ['acme'], revokedKeys: [] });
      expect(issued.key).toMatchObject({ keyId: 'k-1', tenant: 'acme', revokedAt: null, replacedBy: null });
      const read = await store.getKey('k-1');
      expect(read?.secret).toBe('secret-of-k-1');
      expect(read?.serverIdentity).toBe('neo.example.jp');
      expect(read?.issuedAt.toISOString()).toBe('2026-12-01T00:00:00.000Z');
      expect(JSON.stringify(read)).not.toContain('secret-of-k-1');
      expect(await store.getKey('k-404')).toBeNull();

      const second = await rejection(store.issueKey('acme', key('k-2')));
      expect(second.code).toBe('active_key_exists');
      expect(second.message).not.toContain('secret-of');
      expect((await rejection(store.issueKey('beta', key('k-1')))).code).toBe('key_conflict');
      expect((await store.listKeys('acme')).map((k) => k.keyId)).toEqual(['k-1']);
      expect(await store.listKeys('beta')).toEqual([]);
    });

    it('reissues: the new key is active and the old one revoked, pointing at it', async () => {
      await store.importOrders('acme', [initial]);
      await store.issueKey('acme', key('k-1'));
      const at = new Date('2027-02-01T00:00:00Z');
      const result = await store.reissueKey('acme', key('k-2', 'new-host.example.jp', at));
      expect(result.revoked).toEqual(['k-1']);
      expect(result.changes).toEqual({ tenants: ['acme'], revokedKeys: ['k-1'] });
      expect(result.key).toMatchObject({
        keyId: 'k-2',
        serverIdentity: 'new-host.example.jp',
        revokedAt: null,
      });
      const old = await store.getKey('k-1');
      expect(old?.revokedAt?.toISOString()).toBe(at.toISOString());
      expect(old?.replacedBy).toBe('k-2');
      expect((await store.listKeys('acme')).map((k) => [k.keyId, k.revoked])).toEqual([
        ['k-1', true],
        ['k-2', false],
      ]);
      // A tenant without an active key (all revoked) can still be given one by reissue.
      await store.revokeKey('k-2', at);
      expect((await store.reissueKey('acme', key('k-3', 'h', at))).revoked).toEqual([]);
      expect((await rejection(store.reissueKey('nobody', key('k-9')))).code).toBe('unknown_tenant');
    });

    it('stores the request hash of a reissue with the new key, in the same write, and reads it back', async () => {
      await store.importOrders('acme', [initial]);
      const issued = await store.issueKey('acme', key('k-1'));
      expect(issued.key.requestHash).toBeNull();
      const hash = 'a1'.repeat(32);
      const at = new Date('2027-02-01T00:00:00Z');
      const result = await store.reissueKey('acme', { ...key('k-2', 'new-host', at), requestHash: hash });
      expect(result.key.requestHash).toBe(hash);
      expect((await store.getKey('k-2'))?.requestHash).toBe(hash);
      // The revoked key keeps its own (none) and points at the key that carries the hash.
      const old = await store.getKey('k-1');
      expect(old?.requestHash).toBeNull();
      expect(old?.replacedBy).toBe('k-2');
      expect((await store.listKeys('acme')).map((k) => k.requestHash)).toEqual([null, hash]);
      // Durable, as seen from another connection or process.
      const fresh = await another();
      expect((await fresh.getKey('k-2'))?.requestHash).toBe(hash);
      // Not part of what people and programs are shown.
      expect(JSON.stringify((await store.getKey('k-2'))?.toPublic())).not.toContain(hash);
      // A reissue without one stores none.
      const plain = await store.reissueKey('acme', key('k-3', 'h', at));
      expect(plain.key.requestHash).toBeNull();
      expect((await fresh.getKey('k-3'))?.requestHash).toBeNull();
    });

    it('reissue is atomic: when storing the new key fails, the old key stays active and no new key exists', async () => {
      await store.importOrders('acme', [initial]);
      await store.importOrders('beta', [initial]);
      await store.issueKey('acme', key('k-1'));
      await store.issueKey('beta', key('k-taken'));
      // The new key's id collides with beta's key: the insert fails after the revocation.
      const err = await rejection(
        store.reissueKey('acme', {
          ...key('k-taken', 'new-host', new Date('2027-02-01T00:00:00Z')),
          requestHash: 'b2'.repeat(32),
        }),
      );
      expect(err.code).toBe('key_conflict');
      const old = await store.getKey('k-1');
      expect(old?.revokedAt).toBeNull();
      expect(old?.replacedBy).toBeNull();
      expect((await store.listKeys('acme')).map((k) => k.keyId)).toEqual(['k-1']);
      expect((await store.getKey('k-taken'))?.tenant).toBe('beta');
      expect((await store.getKey('k-taken'))?.requestHash).toBeNull();
      // And a store opened afresh sees the same.
      const fresh = await another();
      expect((await fresh.getKey('k-1'))?.revokedAt).toBeNull();
    });

    it('revokes a key once; revoking again changes nothing; unknown keys are refused', async () => {
      await store.importOrders('acme', [initial]);
      await store.issueKey('acme', key('k-1'));
      const at = new Date('2027-03-01T00:00:00Z');
      const first = await store.revokeKey('k-1', at);
      expect(first.changes).toEqual({ tenants: ['acme'], revokedKeys: ['k-1'] });
      expect(first.key.revokedAt?.toISOString()).toBe(at.toISOString());
      const again = await store.revokeKey('k-1', new Date('2027-04-01T00:00:00Z'));
      expect(again.changes).toEqual({ tenants: [], revokedKeys: [] });
      expect(again.key.revokedAt?.toISOString()).toBe(at.toISOString());
      expect((await rejection(store.revokeKey('k-404', at))).code).toBe('unknown_key');
      // With the key revoked, a new one may be issued.
      expect((await store.issueKey('acme', key('k-2'))).key.keyId).toBe('k-2');
    });

    it('adds usage counters per tenant and day and answers inclusive day ranges', async () => {
      await store.addUsage([
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: 1000, allocationSeconds: 60 },
        { tenant: 'beta', day: '2027-01-01', bytesRelayed: 5, allocationSeconds: 1 },
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: 24, allocationSeconds: 4 },
      ]);
      await store.addUsage([
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: 2 ** 40, allocationSeconds: 0 },
        { tenant: 'acme', day: '2027-01-02', bytesRelayed: 7, allocationSeconds: 8 },
        { tenant: 'acme', day: '2027-01-03', bytesRelayed: 9, allocationSeconds: 9 },
      ]);
      await store.addUsage([]);
      expect(await store.usage('2027-01-01', '2027-01-02')).toEqual([
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: 1024 + 2 ** 40, allocationSeconds: 64 },
        { tenant: 'beta', day: '2027-01-01', bytesRelayed: 5, allocationSeconds: 1 },
        { tenant: 'acme', day: '2027-01-02', bytesRelayed: 7, allocationSeconds: 8 },
      ]);
      expect(await store.usage('2027-01-04', '2027-02-01')).toEqual([]);
      const bad = [
        { tenant: 'acme', day: '2027-02-30', bytesRelayed: 1, allocationSeconds: 1 },
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: -1, allocationSeconds: 1 },
        { tenant: 'acme', day: '2027-01-01', bytesRelayed: 1, allocationSeconds: 0.5 },
        { tenant: '', day: '2027-01-01', bytesRelayed: 1, allocationSeconds: 1 },
      ];
      for (const row of bad) expect((await rejection(store.addUsage([row]))).code).toBe('invalid_usage');
      expect((await rejection(store.usage('2027-1-1', '2027-01-02'))).code).toBe('invalid_usage');
      expect((await store.usage('2027-01-01', '2027-01-01'))[0]?.bytesRelayed).toBe(1024 + 2 ** 40);
    });

    it('persists across close and reopen, and opening twice at once is safe (migrations idempotent)', async () => {
      await store.importOrders('acme', [initial, earlyRecontinuation]);
      await store.issueKey('acme', key('k-1'));
      await store.addUsage([{ tenant: 'acme', day: '2027-01-01', bytesRelayed: 1, allocationSeconds: 2 }]);
      await store.close();
      const [a, b] = await Promise.all([harness.open(), harness.open()]);
      extra.push(a, b);
      store = await harness.open();
      for (const s of [a, b, store]) {
        expect((await s.listOrders('acme')).map((o) => [o.id, o.status, o.rejection?.code ?? null])).toEqual([
          ['o-1', 'accepted', null],
          ['o-3', 'rejected', 'renewal_applies'],
        ]);
        expect((await s.getKey('k-1'))?.secret).toBe('secret-of-k-1');
        expect(await s.usage('2027-01-01', '2027-01-01')).toHaveLength(1);
        await s.ping();
      }
    });

    it('serialises concurrent imports for one tenant: the stored verdicts are those of the whole history', async () => {
      const adds: Order[] = [1, 2, 3, 4].map((n) => ({
        id: `add-${n}`,
        kind: 'additional',
        receivedAt: `2027-0${n + 1}-10T09:00:00+09:00`,
        licenses: n,
      }));
      const batches: Order[][] = [
        [renewal],
        [initial],
        ...adds.map((a) => [a]),
        [secondInitial],
        [certified],
      ];
      const other = await another();
      // The tenant exists first, so that no insert of its row happens to serialise the imports,
      // and connections are open, so that connection set-up does not stagger them either.
      await store.importOrders('acme', []);
      await Promise.all([store, other].flatMap((s) => batches.map(() => s.ping())));
      const results = await Promise.all(
        batches.map((orders, i) => (i % 2 === 0 ? store : other).importOrders('acme', orders)),
      );
      const all = batches.flat();
      const expected = computeTimeline({ tenant: 'acme', orders: all });
      const stored = await store.listOrders('acme');
      expect(stored).toHaveLength(all.length);
      const accepted = stored.filter((o) => o.status === 'accepted').map((o) => o.id);
      expect(accepted.sort()).toEqual(expected.periods.map((p) => p.order).sort());
      expect(stored.filter((o) => o.status === 'rejected').map((o) => [o.id, o.rejection?.code])).toEqual(
        expect.arrayContaining(expected.rejected.map((r) => [r.order, r.code])),
      );
      // Every order was new to exactly one import.
      const reported = results.flatMap((r) => [...r.accepted, ...r.rejected.map((x) => x.order)]);
      expect(reported.sort()).toEqual(all.map((o) => o.id).sort());
    });

    it('serialises concurrent reissues for one tenant: exactly one key stays active', async () => {
      await store.importOrders('acme', [initial]);
      await store.issueKey('acme', key('k-0'));
      const other = await another();
      await Promise.all([store, other].flatMap((s) => [1, 2, 3, 4].map(() => s.ping())));
      await Promise.all(
        [1, 2, 3, 4].map((n) =>
          (n % 2 === 0 ? store : other).reissueKey(
            'acme',
            key(`k-${n}`, `host-${n}`, new Date(Date.UTC(2027, 0, n))),
          ),
        ),
      );
      const keys = await store.listKeys('acme');
      expect(keys).toHaveLength(5);
      expect(keys.filter((k) => !k.revoked)).toHaveLength(1);
      for (const k of keys.filter((x) => x.revoked)) expect(k.replacedBy).not.toBeNull();
    });

    it('reissues by compare-and-set: only while the named key is the active one, else key_not_active and nothing written', async () => {
      await store.importOrders('acme', [initial]);
      await store.importOrders('beta', [initial]);
      await store.issueKey('acme', key('k-1'));
      await store.issueKey('beta', key('b-1'));
      const at = new Date('2027-02-01T00:00:00Z');
      const first = await store.reissueKey('acme', key('k-2', 'h2', at), { replaces: 'k-1' });
      expect(first.revoked).toEqual(['k-1']);
      expect((await store.getKey('k-1'))?.replacedBy).toBe('k-2');
      const before = (await store.listKeys('acme')).map((k) => k.toPublic());
      const auditBefore = (await store.listAudit({})).records.length;
      // The named key was replaced meanwhile; a key of another tenant; a key that does not exist.
      for (const replaces of ['k-1', 'b-1', 'k-404']) {
        const err = await rejection(
          store.reissueKey('acme', key(`k-x-${replaces}`, 'thief', at), { replaces }),
        );
        expect(err.code).toBe('key_not_active');
        expect(err.message).toContain(replaces);
      }
      expect((await store.listKeys('acme')).map((k) => k.toPublic())).toEqual(before);
      expect((await store.getKey('b-1'))?.revoked).toBe(false);
      expect((await store.listAudit({})).records).toHaveLength(auditBefore);
      // A revoked active key cannot be replaced either.
      await store.revokeKey('k-2', at);
      expect((await rejection(store.reissueKey('acme', key('k-3', 'h', at), { replaces: 'k-2' }))).code).toBe(
        'key_not_active',
      );
    });

    it('races: N parallel compare-and-set reissues of one key from two connections give exactly one new key, every round', async () => {
      await store.importOrders('acme', [initial]);
      await store.issueKey('acme', key('r0'));
      const other = await another();
      const N = 8;
      await Promise.all([store, other].flatMap((s) => Array.from({ length: N }, () => s.ping())));
      let current = 'r0';
      for (let round = 1; round <= 5; round++) {
        const at = new Date(Date.UTC(2027, 0, round));
        const outcomes = await Promise.allSettled(
          Array.from({ length: N }, (_, i) =>
            (i % 2 === 0 ? store : other).reissueKey('acme', key(`r${round}-${i}`, `host-${i}`, at), {
              replaces: current,
            }),
          ),
        );
        const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        expect(won, `round ${round}`).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === 'rejected') expect(isStoreError(o.reason, 'key_not_active')).toBe(true);
        }
        const active = (await store.listKeys('acme')).filter((k) => !k.revoked).map((k) => k.keyId);
        expect(active).toEqual([won[0]!.key.keyId]);
        expect((await store.getKey(current))?.replacedBy).toBe(won[0]!.key.keyId);
        current = won[0]!.key.keyId;
      }
      expect(await store.listKeys('acme')).toHaveLength(6);
    });

    it('races: an admin reissue racing compare-and-set reissues of the old key always stands', async () => {
      await store.importOrders('acme', [initial]);
      const other = await another();
      for (let round = 1; round <= 10; round++) {
        const tenant = `race-${round}`;
        await store.importOrders(tenant, [initial]);
        await store.issueKey(tenant, key(`${tenant}-old`));
        await Promise.all([store, other].flatMap((s) => [1, 2, 3].map(() => s.ping())));
        const at = new Date(Date.UTC(2027, 1, round));
        const thieves = [1, 2, 3].map((i) =>
          (i % 2 === 0 ? store : other).reissueKey(tenant, key(`${tenant}-thief-${i}`, 'thief', at), {
            replaces: `${tenant}-old`,
          }),
        );
        const admin = (round % 2 === 0 ? store : other).reissueKey(
          tenant,
          key(`${tenant}-admin`, 'owner', at),
        );
        const [adminResult] = await Promise.all([admin, Promise.allSettled(thieves)]);
        const active = (await store.listKeys(tenant)).filter((k) => !k.revoked).map((k) => k.keyId);
        expect(active, `round ${round}`).toEqual([`${tenant}-admin`]);
        expect(adminResult.key.keyId).toBe(`${tenant}-admin`);
      }
    });

    it('races: an admin revocation racing compare-and-set reissues of that key leaves none of their keys active', async () => {
      const other = await another();
      for (let round = 1; round <= 10; round++) {
        const tenant = `revoke-race-${round}`;
        await store.importOrders(tenant, [initial]);
        await store.issueKey(tenant, key(`${tenant}-old`));
        await Promise.all([store, other].flatMap((s) => [1, 2, 3].map(() => s.ping())));
        const at = new Date(Date.UTC(2027, 2, round));
        const thieves = [1, 2, 3].map((i) =>
          (i % 2 === 0 ? store : other).reissueKey(tenant, key(`${tenant}-thief-${i}`, 'thief', at), {
            replaces: `${tenant}-old`,
          }),
        );
        const revoke = (round % 2 === 0 ? store : other).revokeKey(`${tenant}-old`, at);
        const [revoked, settled] = await Promise.all([revoke, Promise.allSettled(thieves)]);
        const keys = await store.listKeys(tenant);
        expect(
          keys.filter((k) => !k.revoked).map((k) => k.keyId),
          `round ${round}`,
        ).toEqual([]);
        const thiefWon = settled.flatMap((o) => (o.status === 'fulfilled' ? [o.value.key.keyId] : []));
        expect(thiefWon.length).toBeLessThanOrEqual(1);
        // The revocation reports what it revoked: the old key, or the thief's key made from it.
        expect(revoked.revoked).toEqual(thiefWon.length === 0 ? [`${tenant}-old`] : thiefWon);
        expect(revoked.changes.revokedKeys).toEqual(revoked.revoked);
      }
    });

    it('revoking a key revokes the key in force made from it by compare-and-set reissues, not one an admin made', async () => {
      await store.importOrders('acme', [initial]);
      await store.issueKey('acme', key('c-1'));
      const at = new Date('2027-02-01T00:00:00Z');
      await store.reissueKey('acme', key('c-2', 'h2', at), { replaces: 'c-1' });
      await store.reissueKey('acme', key('c-3', 'h3', at), { replaces: 'c-2' });
      const cut = await store.revokeKey('c-1', new Date('2027-02-02T00:00:00Z'));
      expect(cut.revoked).toEqual(['c-3']);
      expect(cut.key.keyId).toBe('c-1');
      expect(cut.changes).toEqual({ tenants: ['acme'], revokedKeys: ['c-3'] });
      expect((await store.listKeys('acme')).filter((k) => !k.revoked)).toEqual([]);
      // An admin reissue (no compare-and-set) breaks the chain: its key is the admin's, and stands.
      await store.reissueKey('acme', key('c-4', 'h4', at));
      await store.reissueKey('acme', key('c-5', 'h5', at), { replaces: 'c-4' });
      await store.reissueKey('acme', key('c-6', 'h6', at));
      const again = await store.revokeKey('c-4', at);
      expect(again.revoked).toEqual([]);
      expect(again.changes).toEqual({ tenants: [], revokedKeys: [] });
      expect((await store.getKey('c-6'))?.revoked).toBe(false);
    });

    it('audits every write in the same write: who, what, when, client, outcome; nothing secret', async () => {
      const heard: AuditRecord[] = [];
      const s = await harness.open({ onAudit: (records) => heard.push(...records) });
      extra.push(s);
      const admin = { actor: 'admin:ops@example.jp', client: '192.0.2.10' };
      const t0 = new Date('2027-01-01T00:00:00Z');
      await s.importOrders('acme', [initial], { now: t0, audit: admin });
      await s.importOrders('acme', [initial], { now: new Date('2027-01-02T00:00:00Z'), audit: admin });
      await s.issueKey('acme', key('a-1', 'neo', new Date('2027-01-03T00:00:00Z')), {
        actor: 'cli:root',
        client: null,
      });
      await s.reissueKey(
        'acme',
        { ...key('a-2', 'neo2', new Date('2027-01-04T00:00:00Z')), requestHash: 'f0'.repeat(32) },
        { replaces: 'a-1', audit: { actor: 'key:a-1', client: '198.51.100.7' } },
      );
      await s.reissueKey('acme', key('a-3', 'neo3', new Date('2027-01-05T00:00:00Z')), { audit: admin });
      await s.revokeKey('a-3', new Date('2027-01-06T00:00:00Z'), admin);
      await s.revokeKey('a-3', new Date('2027-01-07T00:00:00Z'), admin);
      await s.recordAudit([
        {
          at: new Date('2027-01-08T00:00:00Z'),
          tenant: 'acme',
          action: 'revoked_key_refused',
          outcome: 'refused',
          actor: 'key:a-3',
          client: '203.0.113.5',
          keyId: 'a-3',
          details: { route: 'POST /v1/ice-servers', count: 1 },
        },
      ]);
      await s.importOrders('beta', [initial], { now: new Date('2027-01-09T00:00:00Z') });
      // A write that fails writes no record either.
      await rejection(s.issueKey('acme', key('a-1', 'dup', new Date('2027-01-10T00:00:00Z'))));

      const page = await store.listAudit({ tenant: 'acme' });
      expect(page.next).toBeNull();
      expect(
        page.records.map((r) => [
          r.action,
          r.outcome,
          r.actor,
          r.client,
          r.keyId,
          r.at.toISOString().slice(0, 10),
        ]),
      ).toEqual([
        ['orders_imported', 'ok', 'admin:ops@example.jp', '192.0.2.10', null, '2027-01-01'],
        ['orders_imported', 'no_change', 'admin:ops@example.jp', '192.0.2.10', null, '2027-01-02'],
        ['key_issued', 'ok', 'cli:root', null, 'a-1', '2027-01-03'],
        ['key_reissued', 'ok', 'key:a-1', '198.51.100.7', 'a-2', '2027-01-04'],
        ['key_reissued', 'ok', 'admin:ops@example.jp', '192.0.2.10', 'a-3', '2027-01-05'],
        ['key_revoked', 'ok', 'admin:ops@example.jp', '192.0.2.10', 'a-3', '2027-01-06'],
        ['key_revoked', 'no_change', 'admin:ops@example.jp', '192.0.2.10', 'a-3', '2027-01-07'],
        ['revoked_key_refused', 'refused', 'key:a-3', '203.0.113.5', 'a-3', '2027-01-08'],
      ]);
      const byAction = page.records;
      expect(byAction[0]?.details).toEqual({
        accepted: ['o-1'],
        rejected: [],
        unchanged: [],
        statusChanged: [],
      });
      expect(byAction[3]?.details).toEqual({
        server: 'neo2',
        revoked: ['a-1'],
        replaces: 'a-1',
        idempotencyKey: true,
      });
      expect(byAction[4]?.details).toEqual({
        server: 'neo3',
        revoked: ['a-2'],
        replaces: null,
        idempotencyKey: false,
      });
      expect(byAction[5]?.details).toEqual({ revoked: ['a-3'] });
      const text = JSON.stringify(page.records);
      expect(text).not.toContain('secret-of');
      expect(text).not.toContain('f0f0f0');
      // Every committed record was told to the listener, once, in order.
      expect(heard.map((r) => r.seq)).toEqual([...heard.map((r) => r.seq)].sort((a, b) => a - b));
      expect(heard.map((r) => r.action)).toEqual([
        'orders_imported',
        'orders_imported',
        'key_issued',
        'key_reissued',
        'key_reissued',
        'key_revoked',
        'key_revoked',
        'revoked_key_refused',
        'orders_imported',
      ]);
      // Unspecified actor for writes that name none.
      const beta = await store.listAudit({ tenant: 'beta' });
      expect(beta.records.map((r) => r.actor)).toEqual(['unspecified']);
    });

    it('pages the audit trail by cursor and filters by tenant and instant range', async () => {
      for (let d = 1; d <= 5; d++) {
        const now = new Date(Date.UTC(2027, 0, d));
        await store.importOrders('acme', [{ ...initial, id: `p-${d}` }], { now });
        await store.importOrders('beta', [{ ...initial, id: `p-${d}` }], { now });
      }
      const first = await store.listAudit({ tenant: 'acme', limit: 2 });
      expect(first.records).toHaveLength(2);
      expect(first.next).toBe(first.records[1]!.seq);
      const second = await store.listAudit({ tenant: 'acme', limit: 2, after: first.next! });
      const third = await store.listAudit({ tenant: 'acme', limit: 2, after: second.next! });
      expect(third.records).toHaveLength(1);
      expect(third.next).toBeNull();
      const all = [...first.records, ...second.records, ...third.records];
      expect(all.map((r) => r.at.toISOString().slice(0, 10))).toEqual([
        '2027-01-01',
        '2027-01-02',
        '2027-01-03',
        '2027-01-04',
        '2027-01-05',
      ]);
      expect(all.every((r) => r.tenant === 'acme')).toBe(true);
      const ranged = await store.listAudit({
        from: new Date(Date.UTC(2027, 0, 2)),
        to: new Date(Date.UTC(2027, 0, 4)),
      });
      expect(ranged.records.map((r) => [r.tenant, r.at.toISOString().slice(0, 10)])).toEqual([
        ['acme', '2027-01-02'],
        ['beta', '2027-01-02'],
        ['acme', '2027-01-03'],
        ['beta', '2027-01-03'],
      ]);
      expect((await store.listAudit({ limit: 10 })).records).toHaveLength(10);
      expect((await store.listAudit({ limit: 10 })).next).toBeNull();
      for (const bad of [
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { after: -1 },
        { from: new Date(Number.NaN) },
      ]) {
        expect((await rejection(store.listAudit(bad))).code).toBe('invalid_audit_query');
      }
    });

    it('names errors with stable codes', async () => {
      const err = await rejection(store.revokeKey('nope', new Date()));
      expect(isStoreError(err, 'unknown_key')).toBe(true);
      expect(err.name).toBe('StoreError');
    });
  });
}
