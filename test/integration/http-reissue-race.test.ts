// Issue 15 point 1 over real HTTP, on PostgreSQL (fresh schema) and on the file store: the
// self-service reissue is a compare-and-set on its signing key. Parallel reissues with one token
// give exactly one new key; an admin reissue or revocation racing reissues signed with the old
// ("stolen") key always stands, so no key made by the old key's requests stays in force. Each race
// is repeated so that it fails reliably without the compare-and-set (checked on the old code).
// The losers' refusals and the winners' writes are in the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVE_ORDERS,
  adminToken,
  assertMatchesOpenApi,
  FakeClock,
  fileTestStore,
  pgTestStore,
  startNode,
  TEST_ADMIN_SECRET,
  TEST_NOW,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from './http-harness.js';

interface Answer {
  status: number;
  json: { keyId?: string; key?: string; error?: string; revoked?: string[] };
}

const backends: [string, () => Promise<TestStore>][] = [
  ['PostgreSQL', () => pgTestStore()],
  ['the file store', fileTestStore],
];

describe.each(backends)('reissue races on %s', (_name, makeStore) => {
  let testStore: TestStore;
  let node: TestNode;
  const clock = new FakeClock(TEST_NOW);
  let seq = 0;

  beforeAll(async () => {
    testStore = await makeStore();
    node = await startNode({
      store: testStore.store,
      clock: clock.now,
      http: {
        rateLimits: {
          perIp: { limit: 1_000_000, windowMs: 60_000 },
          perTenant: { limit: 1_000_000, windowMs: 60_000 },
        },
      },
    });
  });
  afterAll(async () => {
    await node?.close();
    await testStore?.dispose();
  });

  async function post(path: string, bearer: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${node.app.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Answer['json'] };
  }

  async function selfReissue(key: string, server: string): Promise<Answer> {
    const answer = await post('/v1/license-keys/reissue', tenantToken(key, clock.ms), { server });
    assertMatchesOpenApi('/v1/license-keys/reissue', 'post', answer.status, answer.json);
    return answer;
  }

  const admin = () => adminToken(TEST_ADMIN_SECRET, clock.ms, { scope: 'admin', sub: 'ops@example.jp' });

  async function adminReissue(tenant: string, server: string): Promise<Answer> {
    const answer = await post(`/v1/admin/tenants/${tenant}/license-keys/reissue`, admin(), { server });
    assertMatchesOpenApi(
      '/v1/admin/tenants/{tenant}/license-keys/reissue',
      'post',
      answer.status,
      answer.json,
    );
    return answer;
  }

  async function adminRevoke(keyId: string): Promise<Answer> {
    const answer = await post(`/v1/admin/license-keys/${keyId}/revoke`, admin());
    assertMatchesOpenApi('/v1/admin/license-keys/{keyId}/revoke', 'post', answer.status, answer.json);
    return answer;
  }

  async function iceStatus(key: string): Promise<{ status: number; error?: string }> {
    const res = await fetch(`${node.app.url}/v1/ice-servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
    });
    const json = (await res.json()) as { error?: string };
    return { status: res.status, ...(json.error === undefined ? {} : { error: json.error }) };
  }

  async function freshTenant(prefix: string): Promise<{ tenant: string; key: string; keyId: string }> {
    const tenant = `${prefix}-${++seq}`;
    const key = await tenantWithKey(testStore.store, node.licenses, tenant, ACTIVE_ORDERS, clock.ms - 60_000);
    return { tenant, key, keyId: key.slice(0, key.indexOf('.')) };
  }

  async function activeKeyIds(tenant: string): Promise<string[]> {
    return (await testStore.store.listKeys(tenant)).filter((k) => !k.revoked).map((k) => k.keyId);
  }

  const revoked = { status: 401, json: { error: 'license_revoked', message: expect.any(String) } };

  it('N parallel reissues with one token: exactly one 200, the others 401 license_revoked; every round', async () => {
    const N = 6;
    for (let round = 1; round <= 5; round++) {
      const { tenant, key, keyId } = await freshTenant('parallel');
      const answers = await Promise.all(
        Array.from({ length: N }, (_, i) => selfReissue(key, `host-${round}-${i}.example.jp`)),
      );
      const ok = answers.filter((a) => a.status === 200);
      expect(ok, `round ${round}: ${JSON.stringify(answers.map((a) => a.status))}`).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a).toEqual(revoked);
      const winner = ok[0]!.json;
      expect(await activeKeyIds(tenant)).toEqual([winner.keyId]);
      expect((await testStore.store.getKey(keyId))?.replacedBy).toBe(winner.keyId);
      expect(await testStore.store.listKeys(tenant)).toHaveLength(2);
      expect((await iceStatus(winner.key!)).status).toBe(200);
      // The losers' refusals are in the trail: the first at once (the rest counted for the summary).
      await node.noisyAudit.idle();
      const trail = (await testStore.store.listAudit({ tenant })).records;
      expect(
        trail.filter((r) => r.action === 'key_reissued').map((r) => [r.keyId, r.actor, r.client]),
      ).toEqual([[winner.keyId, `key:${keyId}`, '127.0.0.1']]);
      const refusals = trail.filter((r) => r.action === 'revoked_key_refused');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({
        keyId,
        outcome: 'refused',
        client: '127.0.0.1',
        details: { route: 'POST /v1/license-keys/reissue', count: 1 },
      });
    }
  });

  it('an admin reissue racing reissues signed with the old key always stands: only the admin key is in force', async () => {
    for (let round = 1; round <= 10; round++) {
      const { tenant, key } = await freshTenant('admin-race');
      const thieves = [1, 2, 3].map((i) => selfReissue(key, `thief-${i}.example.org`));
      const owner = adminReissue(tenant, `owner-${round}.example.jp`);
      const [adminAnswer, thiefAnswers] = await Promise.all([owner, Promise.all(thieves)]);
      expect(adminAnswer.status, `round ${round}`).toBe(200);
      expect(await activeKeyIds(tenant), `round ${round}`).toEqual([adminAnswer.json.keyId]);
      expect((await iceStatus(adminAnswer.json.key!)).status).toBe(200);
      // Thieves: at most one got a key (before the admin's), and it is revoked now.
      const stolen = thiefAnswers.filter((a) => a.status === 200);
      expect(stolen.length).toBeLessThanOrEqual(1);
      for (const a of thiefAnswers.filter((x) => x.status !== 200)) expect(a).toEqual(revoked);
      for (const a of stolen)
        expect(await iceStatus(a.json.key!)).toEqual({ status: 401, error: 'license_revoked' });
      expect(await iceStatus(key)).toEqual({ status: 401, error: 'license_revoked' });
    }
  });

  it('an admin revocation racing reissues signed with that key always stands: no key of theirs is in force', async () => {
    for (let round = 1; round <= 10; round++) {
      const { tenant, key, keyId } = await freshTenant('revoke-race');
      const thieves = [1, 2, 3].map((i) => selfReissue(key, `thief-${i}.example.org`));
      const [revokeAnswer, thiefAnswers] = await Promise.all([adminRevoke(keyId), Promise.all(thieves)]);
      expect(revokeAnswer.status, `round ${round}`).toBe(200);
      expect(await activeKeyIds(tenant), `round ${round}`).toEqual([]);
      const stolen = thiefAnswers.filter((a) => a.status === 200);
      expect(stolen.length).toBeLessThanOrEqual(1);
      // The answer names what it revoked: the key, or the thief's key made from it.
      expect(revokeAnswer.json.revoked).toEqual(stolen.length === 0 ? [keyId] : [stolen[0]!.json.keyId]);
      for (const a of stolen)
        expect(await iceStatus(a.json.key!)).toEqual({ status: 401, error: 'license_revoked' });
      expect(await iceStatus(key)).toEqual({ status: 401, error: 'license_revoked' });
    }
  });

  it('keeps the audit trail over HTTP: who, what, client, outcome; replays and refusals aggregated; paged', async () => {
    const { tenant, key, keyId } = await freshTenant('audit');
    const value = crypto.randomUUID();
    const withKey = async (server: string) => {
      const res = await fetch(`${node.app.url}/v1/license-keys/reissue`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenantToken(key, clock.ms)}`,
          'content-type': 'application/json',
          'idempotency-key': value,
        },
        body: JSON.stringify({ server }),
      });
      return { status: res.status, json: (await res.json()) as Answer['json'] };
    };
    const second = await withKey('neo2.example.jp');
    expect(second.status).toBe(200);
    expect(await withKey('neo2.example.jp')).toEqual(second); // a replay
    for (let i = 0; i < 4; i++) expect((await iceStatus(key)).status).toBe(401);
    await node.noisyAudit.idle();
    expect((await adminRevoke(second.json.keyId!)).status).toBe(200);

    const get = async (query: string) => {
      const res = await fetch(`${node.app.url}/v1/admin/audit?${query}`, {
        headers: { authorization: `Bearer ${admin()}` },
      });
      const json = (await res.json()) as {
        records: {
          seq: number;
          action: string;
          outcome: string;
          actor: string;
          client: string | null;
          keyId: string | null;
          details: Record<string, unknown>;
        }[];
        next: number | null;
        error?: string;
      };
      assertMatchesOpenApi('/v1/admin/audit', 'get', res.status, json);
      return { status: res.status, json };
    };
    const page = await get(`tenant=${tenant}`);
    expect(page.status).toBe(200);
    expect(page.json.next).toBeNull();
    expect(page.json.records.map((r) => [r.action, r.outcome, r.actor, r.client, r.keyId])).toEqual([
      ['orders_imported', 'ok', 'unspecified', null, null],
      ['key_issued', 'ok', 'unspecified', null, keyId],
      ['key_reissued', 'ok', `key:${keyId}`, '127.0.0.1', second.json.keyId],
      ['reissue_replayed', 'ok', `key:${keyId}`, '127.0.0.1', keyId],
      ['revoked_key_refused', 'refused', `key:${keyId}`, '127.0.0.1', keyId],
      ['key_revoked', 'ok', 'admin:ops@example.jp', '127.0.0.1', second.json.keyId],
    ]);
    expect(page.json.records[2]?.details).toMatchObject({
      replaces: keyId,
      idempotencyKey: true,
      revoked: [keyId],
    });
    expect(page.json.records[3]?.details).toMatchObject({ newKeyId: second.json.keyId, count: 1 });
    expect(page.json.records[4]?.details).toEqual({ route: 'POST /v1/ice-servers', count: 1 });
    // The other three refusals of the window come as one summary.
    await node.noisyAudit.flush();
    const after = await get(`tenant=${tenant}&after=${page.json.records[5]!.seq}`);
    expect(after.json.records).toEqual([
      expect.objectContaining({
        action: 'revoked_key_refused',
        keyId,
        details: expect.objectContaining({
          summary: true,
          count: 3,
          clients: ['127.0.0.1'],
          routes: ['POST /v1/ice-servers'],
        }),
      }),
    ]);
    // Pages of two, and a time range.
    const first = await get(`tenant=${tenant}&limit=2`);
    expect(first.json.records.map((r) => r.action)).toEqual(['orders_imported', 'key_issued']);
    expect(first.json.next).toBe(first.json.records[1]!.seq);
    const ranged = await get(`tenant=${tenant}&from=2999-01-01T00:00:00Z`);
    expect(ranged.json).toEqual({ records: [], next: null });
    // Never a secret: not the key texts, not the Idempotency-Key value.
    const text = JSON.stringify(page.json);
    for (const secret of [
      key.slice(key.indexOf('.') + 1),
      second.json.key!.slice(second.json.key!.indexOf('.') + 1),
      value,
    ]) {
      expect(text).not.toContain(secret);
    }
    for (const bad of [
      'tenant=no%20spaces',
      'from=yesterday',
      'limit=0',
      'limit=1001',
      'after=-1',
      'from=2027-02-01&to=2027-01-01',
    ]) {
      const refused = await get(bad);
      expect(refused.status, bad).toBe(400);
      expect(refused.json.error).toBe('invalid_request');
    }
    const anonymous = await fetch(`${node.app.url}/v1/admin/audit`);
    expect(anonymous.status).toBe(401);
  });

  it('keeps working for the owner: sequential reissues each replace the key in force', async () => {
    const { tenant, key } = await freshTenant('sequential');
    const second = await selfReissue(key, 'neo2.example.jp');
    expect(second.status).toBe(200);
    const third = await selfReissue(second.json.key!, 'neo3.example.jp');
    expect(third.status).toBe(200);
    expect(await selfReissue(second.json.key!, 'neo4.example.jp')).toEqual(revoked);
    expect(await activeKeyIds(tenant)).toEqual([third.json.keyId]);
  });
});
