// Issue 21 on both stores (PostgreSQL in a fresh schema, the file store in a temp dir), driven
// through ReissueQueue with an injected clock: every request gets the due date the terms promise
// across the 17:00 JST cut-off, weekends, national holidays and both closing periods; a pending
// request turns overdue the moment its due date ends; fulfilling reissues the key (the old one
// revoked) in the same write, once, however many staff members race; cancel, form references,
// the audit trail and the open counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClosingDays } from '../../src/entitlement/rules/index.js';
import { reissueRequestsOf } from '../../src/entitlement/store/index.js';
import { LicenseService, ReissueQueue } from '../../src/licensing/index.js';
import {
  ACTIVE_ORDERS,
  EXPIRED_ORDERS,
  fileTestStore,
  GRACE_ORDERS,
  pgTestStore,
  type TestStore,
  tenantWithKey,
} from './http-harness.js';

const at = (iso: string) => new Date(iso);
const staff = { actor: 'admin:support@example.jp', client: '127.0.0.1' };

const backends: [string, () => Promise<TestStore>][] = [
  ['PostgreSQL', () => pgTestStore()],
  ['the file store', fileTestStore],
];

/** Receipt instant (JST) -> the due date the terms promise (seed 2(2)), default closing days. */
const DUE_CASES: [string, string, string][] = [
  ['Tuesday at 17:00:00.000 exactly', '2027-05-25T17:00:00.000+09:00', '2027-05-25'],
  ['Tuesday one millisecond after 17:00', '2027-05-25T17:00:00.001+09:00', '2027-05-26'],
  ['Tuesday morning', '2027-05-25T09:00:00+09:00', '2027-05-25'],
  ['Friday after the cut-off', '2027-05-28T17:30:00+09:00', '2027-05-31'],
  ['Saturday', '2027-05-29T10:00:00+09:00', '2027-05-31'],
  ['Sunday before 17:00', '2027-05-30T08:00:00+09:00', '2027-05-31'],
  ['JST Monday 08:00 is still Sunday in UTC', '2027-05-30T23:00:00Z', '2027-05-31'],
  ['the eve of Showa Day after the cut-off', '2027-04-28T18:00:00+09:00', '2027-04-30'],
  ['Friday before Golden Week after the cut-off', '2027-04-30T18:00:00+09:00', '2027-05-06'],
  ['Constitution Memorial Day', '2027-05-03T10:00:00+09:00', '2027-05-06'],
  ['the eve of Mountain Day after the cut-off', '2027-08-10T18:00:00+09:00', '2027-08-12'],
  ['the eve of the summer closing after the cut-off', '2027-08-12T17:01:00+09:00', '2027-08-16'],
  ['a summer closing day before 17:00', '2027-08-13T09:00:00+09:00', '2027-08-16'],
  ['the eve of the year-end closing after the cut-off', '2026-12-28T18:00:00+09:00', '2027-01-04'],
  ['New Year closing day', '2027-01-02T10:00:00+09:00', '2027-01-04'],
  ['the last year-end closing day', '2027-01-03T16:00:00+09:00', '2027-01-04'],
  ['before the year-end closing, on time', '2026-12-28T16:59:59+09:00', '2026-12-28'],
];

describe.each(backends)('reissue-request queue on %s', (_name, makeStore) => {
  let testStore: TestStore;
  let licenses: LicenseService;
  let queue: ReissueQueue;

  beforeAll(async () => {
    testStore = await makeStore();
    licenses = new LicenseService(testStore.store, { graceDays: 30 });
    queue = new ReissueQueue(reissueRequestsOf(testStore.store), licenses);
    await tenantWithKey(testStore.store, licenses, 'acme', ACTIVE_ORDERS, Date.parse('2026-12-01T00:00:00Z'));
  });
  afterAll(async () => {
    await testStore?.dispose();
  });

  it.each(DUE_CASES)('a request received on %s is due as the terms promise', async (_case, received, due) => {
    const receivedAt = at(received);
    const { request, created } = await queue.add(
      { tenant: 'acme', server: 'neo2.acme.example.jp', receivedAt },
      receivedAt,
      staff,
    );
    expect(created).toBe(true);
    expect(request).toMatchObject({
      tenant: 'acme',
      server: 'neo2.acme.example.jp',
      receivedAt: receivedAt.toISOString(),
      dueDate: due,
      state: 'pending',
      reference: null,
      fulfilledAt: null,
      onTime: null,
      keyId: null,
    });
    expect(request.id).toMatch(/^rr_[a-z2-7]{20}$/);
  });

  it('uses the configured closing days', async () => {
    const custom = new ReissueQueue(reissueRequestsOf(testStore.store), licenses, {
      closingDays: parseClosingDays('05-31..06-01'),
    });
    const receivedAt = at('2027-05-28T17:30:00+09:00');
    const { request } = await custom.add({ tenant: 'acme', server: 's.example.jp', receivedAt }, receivedAt);
    expect(request.dueDate).toBe('2027-06-02');
  });

  it('turns overdue the moment the due date ends, and fulfilling it then is late', async () => {
    await testStore.store.importOrders('late', ACTIVE_ORDERS);
    const receivedAt = at('2027-05-25T10:00:00+09:00');
    const { request } = await queue.add({ tenant: 'late', server: 'new.late.example.jp' }, receivedAt);
    expect(request.dueDate).toBe('2027-05-25');
    const lastMs = at('2027-05-25T23:59:59.999+09:00');
    const nextDay = at('2027-05-26T00:00:00.000+09:00');
    expect((await queue.get(request.id, lastMs))?.state).toBe('pending');
    expect((await queue.get(request.id, nextDay))?.state).toBe('overdue');
    const ids = (filter: 'pending' | 'overdue', now: Date) =>
      queue.list(filter, 'late', now).then((l) => l.map((r) => r.id));
    expect(await ids('pending', lastMs)).toEqual([request.id]);
    expect(await ids('overdue', lastMs)).toEqual([]);
    expect(await ids('overdue', nextDay)).toEqual([request.id]);
    expect(await ids('pending', nextDay)).toEqual([]);
    const fulfilled = await queue.fulfil(request.id, at('2027-05-26T09:00:00+09:00'));
    expect(fulfilled.request).toMatchObject({ state: 'fulfilled', onTime: false });
    expect(await ids('overdue', nextDay)).toEqual([]);
  });

  it('fulfils with a reissue for the requested server: the old key revoked, the new one answered once', async () => {
    const oldKey = await tenantWithKey(testStore.store, licenses, 'beta', ACTIVE_ORDERS);
    const oldKeyId = oldKey.slice(0, oldKey.indexOf('.'));
    const receivedAt = at('2027-05-25T16:00:00+09:00');
    const { request } = await queue.add(
      { tenant: 'beta', server: 'moved.beta.example.jp', reference: 'form-881' },
      receivedAt,
      staff,
    );
    const when = at('2027-05-25T16:30:00+09:00');
    const first = await queue.fulfil(request.id, when, staff);
    expect(first.issued).not.toBeNull();
    expect(first.reissue?.revoked).toEqual([oldKeyId]);
    expect(first.request).toMatchObject({
      state: 'fulfilled',
      fulfilledAt: when.toISOString(),
      onTime: true,
      keyId: first.issued?.keyId,
    });
    const keys = await testStore.store.listKeys('beta');
    expect(keys.map((k) => [k.keyId, k.revoked, k.serverIdentity])).toEqual([
      [oldKeyId, true, 'neo.beta.example.jp'],
      [first.issued?.keyId, false, 'moved.beta.example.jp'],
    ]);
    const again = await queue.fulfil(request.id, at('2027-05-25T16:40:00+09:00'), staff);
    expect(again.issued).toBeNull();
    expect(again.request).toEqual(first.request);
    expect(await testStore.store.listKeys('beta')).toHaveLength(2);
    await expect(queue.cancel(request.id, 'too late', when)).rejects.toMatchObject({
      code: 'reissue_request_closed',
    });

    const audit = await testStore.store.listAudit({ tenant: 'beta' });
    const rows = audit.records.map((r) => [r.action, r.outcome, r.actor, r.keyId]);
    expect(rows).toEqual([
      ['orders_imported', 'ok', 'unspecified', null],
      ['key_issued', 'ok', 'unspecified', oldKeyId],
      ['reissue_request_received', 'ok', staff.actor, null],
      ['key_reissued', 'ok', staff.actor, first.issued?.keyId],
      ['reissue_request_fulfilled', 'ok', staff.actor, first.issued?.keyId],
      ['reissue_request_fulfilled', 'no_change', staff.actor, first.issued?.keyId],
    ]);
    expect(audit.records[2]?.details).toMatchObject({
      request: request.id,
      reference: 'form-881',
      dueDate: '2027-05-25',
    });
    expect(JSON.stringify(audit.records)).not.toContain(first.issued?.reveal().split('.')[1]);
  });

  it('two staff members fulfilling the same request at once get one key (repeated)', async () => {
    const other = await testStore.openAnother();
    const otherQueue = new ReissueQueue(reissueRequestsOf(other), new LicenseService(other));
    for (let round = 0; round < 5; round++) {
      const tenant = `race${round}`;
      await tenantWithKey(testStore.store, licenses, tenant, ACTIVE_ORDERS);
      const now = at('2027-05-25T11:00:00+09:00');
      const { request } = await queue.add({ tenant, server: `n.${tenant}.example.jp` }, now);
      const outcomes = await Promise.all([
        queue.fulfil(request.id, now),
        otherQueue.fulfil(request.id, now),
        queue.fulfil(request.id, now),
        otherQueue.fulfil(request.id, now),
      ]);
      const issued = outcomes.filter((o) => o.issued !== null);
      expect(issued).toHaveLength(1);
      const keys = await testStore.store.listKeys(tenant);
      expect(keys).toHaveLength(2);
      expect(keys.filter((k) => !k.revoked).map((k) => k.keyId)).toEqual([issued[0]?.issued?.keyId]);
      for (const o of outcomes) expect(o.request.keyId).toBe(issued[0]?.issued?.keyId);
    }
  });

  it('a resubmitted form queues once; another server under the same reference is a conflict naming the field', async () => {
    await testStore.store.importOrders('gamma', ACTIVE_ORDERS);
    const now = at('2027-05-25T12:00:00+09:00');
    const first = await queue.add({ tenant: 'gamma', server: 'a.example.jp', reference: 'F-1' }, now);
    const again = await queue.add(
      {
        tenant: 'gamma',
        server: 'a.example.jp',
        reference: 'F-1',
        receivedAt: at('2027-05-25T11:00:00+09:00'),
      },
      now,
    );
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.request).toEqual(first.request);
    await expect(
      queue.add({ tenant: 'gamma', server: 'b.example.jp', reference: 'F-1' }, now),
    ).rejects.toMatchObject({
      code: 'reissue_request_conflict',
      message: expect.stringMatching(/^server: /),
    });
    // The reference is unique per tenant, not globally.
    await testStore.store.importOrders('delta', ACTIVE_ORDERS);
    expect(
      (await queue.add({ tenant: 'delta', server: 'b.example.jp', reference: 'F-1' }, now)).created,
    ).toBe(true);
    expect(await queue.list(undefined, 'gamma', now)).toHaveLength(1);
  });

  it('refuses while support is not active or in grace, and for an unknown tenant', async () => {
    const now = at('2027-05-25T12:00:00+09:00');
    await testStore.store.importOrders('lapsed', EXPIRED_ORDERS);
    await testStore.store.importOrders('grace', GRACE_ORDERS);
    await expect(queue.add({ tenant: 'lapsed', server: 'x.example.jp' }, now)).rejects.toMatchObject({
      code: 'support_inactive',
    });
    await expect(queue.add({ tenant: 'nobody', server: 'x.example.jp' }, now)).rejects.toMatchObject({
      code: 'unknown_tenant',
    });
    expect((await queue.add({ tenant: 'grace', server: 'x.example.jp' }, now)).created).toBe(true);
    expect(await queue.list(undefined, 'lapsed', now)).toEqual([]);
  });

  it('cancels with a reason, idempotently; a cancelled request cannot be fulfilled; done lists both kinds', async () => {
    await testStore.store.importOrders('eps', ACTIVE_ORDERS);
    const now = at('2027-05-25T12:00:00+09:00');
    const a = await queue.add({ tenant: 'eps', server: 'a.eps.example.jp' }, now);
    const b = await queue.add({ tenant: 'eps', server: 'b.eps.example.jp' }, at('2027-05-25T18:00:00+09:00'));
    const cancelled = await queue.cancel(a.request.id, 'customer withdrew the form', now, staff);
    expect(cancelled).toMatchObject({ state: 'cancelled', cancelReason: 'customer withdrew the form' });
    expect(await queue.cancel(a.request.id, 'again', at('2027-05-25T13:00:00+09:00'))).toEqual(cancelled);
    await expect(queue.fulfil(a.request.id, now)).rejects.toMatchObject({ code: 'reissue_request_closed' });
    await queue.fulfil(b.request.id, at('2027-05-26T10:00:00+09:00'));
    const done = await queue.list('done', 'eps', now);
    expect(done.map((r) => [r.id, r.state, r.dueDate])).toEqual([
      [a.request.id, 'cancelled', '2027-05-25'],
      [b.request.id, 'fulfilled', '2027-05-26'],
    ]);
    expect(done[1]?.onTime).toBe(true);
    await expect(queue.cancel('rr_aaaaaaaaaaaaaaaaaaaa', 'x', now)).rejects.toMatchObject({
      code: 'unknown_reissue_request',
    });
  });

  it('counts pending and overdue requests at a JST date, ordered lists by due date', async () => {
    const counts = await queue.counts(at('2027-05-26T00:00:00+09:00'));
    const all = await queue.list(undefined, undefined, at('2027-05-26T00:00:00+09:00'));
    expect(counts.pending).toBe(all.filter((r) => r.state === 'pending').length);
    expect(counts.overdue).toBe(all.filter((r) => r.state === 'overdue').length);
    expect(counts.overdue).toBeGreaterThan(0);
    expect(counts.pending).toBeGreaterThan(0);
    const dues = all.map((r) => r.dueDate);
    expect(dues).toEqual([...dues].sort());
  });
});
