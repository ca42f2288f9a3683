// Issue 21 over real HTTP, on PostgreSQL (fresh schema) and on the file store, two nodes sharing
// the store and a Redis bus, with a fake clock: support staff queue form requests (due date per
// the terms, across the 17:00 JST cut-off), list them by state, see one turn overdue the moment its
// due date ends (list and gauges), fulfil it on node A (the old key is then refused on node B too,
// the new key is answered once, racing staff members get one key) or cancel it. Every answer is
// validated against the OpenAPI document; every step is in the audit trail.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reissueRequestsOf } from '../../src/entitlement/store/index.js';
import { LicenseService, ReissueQueue } from '../../src/licensing/index.js';
import { registerReissueRequestGauges } from '../../src/metrics/reissue-request-gauges.js';
import {
  ACTIVE_ORDERS,
  adminToken,
  assertMatchesOpenApi,
  deleteRedisPrefix,
  EXPIRED_ORDERS,
  FakeClock,
  fileTestStore,
  pgTestStore,
  requireRedis,
  startNode,
  TEST_ADMIN_SECRET,
  TEST_REDIS_URL,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
  uniquePrefix,
  waitFor,
} from './http-harness.js';

type Json = Record<string, unknown> & { error?: string; message?: string };

const backends: [string, () => Promise<TestStore>][] = [
  ['PostgreSQL', () => pgTestStore()],
  ['the file store', fileTestStore],
];

describe.each(backends)('reissue requests over HTTP on %s', (_name, makeStore) => {
  let testStore: TestStore;
  let nodeA: TestNode;
  let nodeB: TestNode;
  const prefix = uniquePrefix();
  // Tuesday 2027-05-25 16:00 JST.
  const clock = new FakeClock(Date.parse('2027-05-25T07:00:00Z'));

  beforeAll(async () => {
    await requireRedis();
    testStore = await makeStore();
    const other = await testStore.openAnother();
    const queueOf = (store: typeof other) =>
      new ReissueQueue(reissueRequestsOf(store), new LicenseService(store));
    const queueA = queueOf(testStore.store);
    const common = { clock: clock.now, redisUrl: TEST_REDIS_URL, redisPrefix: prefix };
    nodeA = await startNode({ ...common, store: testStore.store, http: { reissueRequests: queueA } });
    nodeB = await startNode({ ...common, store: other, http: { reissueRequests: queueOf(other) } });
    registerReissueRequestGauges(nodeA.metrics.registry, () => queueA.counts(new Date(clock.ms)), {
      clock: clock.now,
    });
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await testStore?.dispose();
    await deleteRedisPrefix(prefix);
  });

  const admin = () => adminToken(TEST_ADMIN_SECRET, clock.ms, { scope: 'admin', sub: 'support@example.jp' });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    template: string,
    body?: unknown,
    node = nodeA,
  ): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${node.app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Json;
    assertMatchesOpenApi(template, method, res.status, json);
    return { status: res.status, json };
  }
  const queueRequest = (body: unknown) =>
    call('POST', '/v1/admin/reissue-requests', '/v1/admin/reissue-requests', body);
  const list = (query: string) =>
    call('GET', `/v1/admin/reissue-requests${query}`, '/v1/admin/reissue-requests').then(
      (r) => r.json.requests as Json[],
    );
  const fulfil = (id: string, node = nodeA) =>
    call(
      'POST',
      `/v1/admin/reissue-requests/${id}/fulfil`,
      '/v1/admin/reissue-requests/{id}/fulfil',
      undefined,
      node,
    );
  const cancel = (id: string, reason: unknown) =>
    call('POST', `/v1/admin/reissue-requests/${id}/cancel`, '/v1/admin/reissue-requests/{id}/cancel', {
      reason,
    });

  async function iceStatus(node: TestNode, key: string): Promise<{ status: number; error?: string }> {
    const res = await fetch(`${node.app.url}/v1/ice-servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
    });
    const json = (await res.json()) as Json;
    return { status: res.status, ...(json.error === undefined ? {} : { error: json.error }) };
  }

  async function gauges(): Promise<{ pending: number; overdue: number }> {
    // The exposition the metrics listener serves (METRICS_PORT; not on the API port).
    const text = await nodeA.metrics.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return {
      pending: value('icegate_reissue_requests_pending'),
      overdue: value('icegate_reissue_requests_overdue'),
    };
  }

  const tenantName = (p: string) => `${p}-${randomBytes(3).toString('hex')}`;

  it('queues with the due date of the terms (cut-off at 17:00 JST), refuses bad requests, dedupes resubmitted forms', async () => {
    const t = tenantName('acme');
    await tenantWithKey(testStore.store, nodeA.licenses, t, ACTIVE_ORDERS, clock.ms - 60_000);
    const now = await queueRequest({ tenant: t, server: 'neo2.example.jp', reference: 'form-1' });
    expect(now.status).toBe(201);
    expect(now.json).toMatchObject({
      tenant: t,
      server: 'neo2.example.jp',
      reference: 'form-1',
      receivedAt: new Date(clock.ms).toISOString(),
      dueDate: '2027-05-25',
      state: 'pending',
    });
    const atCutoff = await queueRequest({
      tenant: t,
      server: 's.example.jp',
      receivedAt: '2027-05-21T17:00:00+09:00',
    });
    expect(atCutoff.json.dueDate).toBe('2027-05-21');
    const after = await queueRequest({
      tenant: t,
      server: 's.example.jp',
      receivedAt: '2027-05-21T17:00:01+09:00',
    });
    expect(after.json.dueDate).toBe('2027-05-24');

    const again = await queueRequest({ tenant: t, server: 'neo2.example.jp', reference: 'form-1' });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(now.json.id);
    const conflict = await queueRequest({ tenant: t, server: 'other.example.jp', reference: 'form-1' });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toBe('reissue_request_conflict');
    expect(conflict.json.message).toMatch(/^server: /);

    const lapsed = tenantName('lapsed');
    await testStore.store.importOrders(lapsed, EXPIRED_ORDERS);
    const refused = await queueRequest({ tenant: lapsed, server: 'x.example.jp' });
    expect([refused.status, refused.json.error]).toEqual([403, 'support_inactive']);
    const unknown = await queueRequest({ tenant: 'nobody-here', server: 'x.example.jp' });
    expect([unknown.status, unknown.json.error]).toEqual([404, 'unknown_tenant']);
    for (const body of [
      { tenant: t },
      { tenant: t, server: 'x', receivedAt: '2027-05-25 10:00' },
      { tenant: t, server: 'x', reference: 'has space' },
      { tenant: 'bad/tenant', server: 'x' },
    ]) {
      const bad = await queueRequest(body);
      expect([bad.status, bad.json.error]).toEqual([400, 'invalid_request']);
    }
    const future = await queueRequest({ tenant: t, server: 'x', receivedAt: '2027-06-01T10:00:00+09:00' });
    expect(future.status).toBe(400);
    expect(
      (await call('GET', '/v1/admin/reissue-requests?state=late', '/v1/admin/reissue-requests')).status,
    ).toBe(400);
  });

  it('lists by state ordered by due date; a pending request is overdue the moment its due date ends, in the list and the gauges', async () => {
    const t = tenantName('late');
    await tenantWithKey(testStore.store, nodeA.licenses, t, ACTIVE_ORDERS, clock.ms - 60_000);
    const second = await queueRequest({
      tenant: t,
      server: 'b.example.jp',
      receivedAt: '2027-05-25T15:59:00+09:00',
    });
    const first = await queueRequest({
      tenant: t,
      server: 'a.example.jp',
      receivedAt: '2027-05-24T18:00:00+09:00',
    });
    const later = await queueRequest({ tenant: t, server: 'c.example.jp' });
    expect([first.json.dueDate, second.json.dueDate, later.json.dueDate]).toEqual([
      '2027-05-25',
      '2027-05-25',
      '2027-05-25',
    ]);
    const ids = (rows: Json[]) => rows.map((r) => r.id);
    expect(ids(await list(`?state=pending&tenant=${t}`))).toEqual([
      first.json.id,
      second.json.id,
      later.json.id,
    ]);
    const before = await gauges();
    expect(before.pending).toBeGreaterThanOrEqual(3);

    clock.ms = Date.parse('2027-05-25T23:59:59.999+09:00');
    expect(await list(`?state=overdue&tenant=${t}`)).toEqual([]);
    clock.ms = Date.parse('2027-05-26T00:00:00.000+09:00');
    const overdue = await list(`?state=overdue&tenant=${t}`);
    expect(ids(overdue)).toEqual([first.json.id, second.json.id, later.json.id]);
    expect(overdue.every((r) => r.state === 'overdue')).toBe(true);
    expect(await list(`?state=pending&tenant=${t}`)).toEqual([]);
    const after = await gauges();
    expect(after.overdue).toBeGreaterThanOrEqual(3);
    expect(after.pending + after.overdue).toBe(before.pending + before.overdue);

    await fulfil(String(first.json.id));
    const done = await cancel(String(second.json.id), 'duplicate of an e-mail request');
    expect(done.json).toMatchObject({ state: 'cancelled', cancelReason: 'duplicate of an e-mail request' });
    const closed = await list(`?state=done&tenant=${t}`);
    expect(closed.map((r) => [r.id, r.state, r.onTime])).toEqual([
      [first.json.id, 'fulfilled', false],
      [second.json.id, 'cancelled', null],
    ]);
    expect(ids(await list(`?tenant=${t}`))).toEqual([first.json.id, second.json.id, later.json.id]);
    // The gauges are read at most every 15 s: the fulfilment shows after the next refresh.
    clock.advance(15_000);
    expect((await gauges()).overdue).toBe(after.overdue - 2);
    await fulfil(String(later.json.id));
    clock.ms = Date.parse('2027-05-25T07:00:00Z');
  });

  it('fulfilling revokes the old key on every node, answers the new key once, and racing staff get one key', async () => {
    const t = tenantName('moved');
    const oldKey = await tenantWithKey(testStore.store, nodeA.licenses, t, ACTIVE_ORDERS, clock.ms - 60_000);
    const oldKeyId = oldKey.slice(0, oldKey.indexOf('.'));
    expect((await iceStatus(nodeB, oldKey)).status).toBe(200); // node B now caches the old key
    const { json: request } = await queueRequest({
      tenant: t,
      server: 'moved.example.jp',
      reference: 'F-77',
    });
    const id = String(request.id);

    const answers = await Promise.all([
      fulfil(id, nodeA),
      fulfil(id, nodeB),
      fulfil(id, nodeA),
      fulfil(id, nodeB),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const withKey = answers.filter((a) => a.json.key !== undefined);
    expect(withKey).toHaveLength(1);
    const winner = withKey[0]?.json as Json;
    expect(winner).toMatchObject({ state: 'fulfilled', onTime: true, revoked: [oldKeyId] });
    const newKey = String(winner.key);
    expect(newKey.startsWith(`${winner.keyId}.`)).toBe(true);
    for (const a of answers) {
      expect(a.json.keyId).toBe(winner.keyId);
      if (a !== withKey[0]) expect(a.json).not.toHaveProperty('revoked');
    }
    const repeat = await fulfil(id);
    expect(repeat.json).not.toHaveProperty('key');
    expect(repeat.json).toMatchObject({ state: 'fulfilled', keyId: winner.keyId });

    // Revoked fleet-wide through the Redis bus: node B drops its cached old key within seconds.
    await waitFor(async () => (await iceStatus(nodeB, oldKey)).error === 'license_revoked', 5_000);
    expect(await iceStatus(nodeA, oldKey)).toEqual({ status: 401, error: 'license_revoked' });
    expect((await iceStatus(nodeB, newKey)).status).toBe(200);
    const keys = await testStore.store.listKeys(t);
    expect(keys.map((k) => [k.serverIdentity, k.revoked])).toEqual([
      [`neo.${t}.example.jp`, true],
      ['moved.example.jp', false],
    ]);

    const cancelled = await cancel(id, 'no');
    expect([cancelled.status, cancelled.json.error]).toEqual([409, 'reissue_request_closed']);
    const missing = await fulfil('rr_aaaaaaaaaaaaaaaaaaaa');
    expect([missing.status, missing.json.error]).toEqual([404, 'unknown_reissue_request']);
    expect((await cancel('rr_aaaaaaaaaaaaaaaaaaaa', 'x')).status).toBe(404);
    const one = await call('GET', `/v1/admin/reissue-requests/${id}`, '/v1/admin/reissue-requests/{id}');
    expect(one.json).toMatchObject({ id, state: 'fulfilled', keyId: winner.keyId });

    const audit = await call('GET', `/v1/admin/audit?tenant=${t}`, '/v1/admin/audit');
    const records = audit.json.records as Json[];
    expect(records.map((r) => [r.action, r.outcome])).toEqual([
      ['orders_imported', 'ok'],
      ['key_issued', 'ok'],
      ['reissue_request_received', 'ok'],
      ['key_reissued', 'ok'],
      ['reissue_request_fulfilled', 'ok'],
      ['reissue_request_fulfilled', 'no_change'],
      ['reissue_request_fulfilled', 'no_change'],
      ['reissue_request_fulfilled', 'no_change'],
      ['reissue_request_fulfilled', 'no_change'],
      // The old key tried on node B, then node A, after the fulfilment: each node's first refusal.
      ['revoked_key_refused', 'refused'],
      ['revoked_key_refused', 'refused'],
    ]);
    expect(records.slice(2, 9).every((r) => r.actor === 'admin:support@example.jp')).toBe(true);
    expect(JSON.stringify(records)).not.toContain(newKey.slice(newKey.indexOf('.') + 1));
  });

  it('cancel needs a reason and is idempotent; a cancelled request cannot be fulfilled', async () => {
    const t = tenantName('withdrawn');
    await tenantWithKey(testStore.store, nodeA.licenses, t, ACTIVE_ORDERS, clock.ms - 60_000);
    const { json } = await queueRequest({ tenant: t, server: 'w.example.jp' });
    const id = String(json.id);
    expect((await cancel(id, '')).status).toBe(400);
    const first = await cancel(id, 'customer withdrew');
    expect(first.json).toMatchObject({ state: 'cancelled', cancelReason: 'customer withdrew' });
    const second = await cancel(id, 'again');
    expect(second.json).toEqual(first.json);
    const refused = await fulfil(id);
    expect([refused.status, refused.json.error]).toEqual([409, 'reissue_request_closed']);
    expect((await testStore.store.listKeys(t)).filter((k) => !k.revoked)).toHaveLength(1);
  });
});
