// Self-service reissue retried with an Idempotency-Key, over real HTTP on PostgreSQL (fresh
// schema): a reissue whose COMMIT reply was lost is answered on retry with the key that was
// committed; a replay gives the same key, writes nothing and announces the revocation to the
// fleet again (the first announcement was lost with the answer); every retry that is
// not the same request (another value or server, none, too late, a successor no longer in
// force) is refused like any revoked key; malformed values are 400.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TenantChange } from '../../src/entitlement/cache/index.js';
import { type EntitlementStore, StoreError } from '../../src/entitlement/store/index.js';
import {
  ACTIVE_ORDERS,
  assertMatchesOpenApi,
  FakeClock,
  pgTestStore,
  startNode,
  TEST_NOW,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from './http-harness.js';

const PATH = '/v1/license-keys/reissue';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The store with one fault that can be armed: the next reissue commits, then fails as if the
 * connection dropped before the COMMIT reply arrived (what the outage suite hits now and then).
 */
function commitReplyLost(inner: EntitlementStore): { store: EntitlementStore; arm(): void } {
  let armed = false;
  const reissueKey: EntitlementStore['reissueKey'] = async (tenant, key) => {
    const result = await inner.reissueKey(tenant, key);
    if (!armed) return result;
    armed = false;
    throw new StoreError('store_unavailable', 'Connection terminated unexpectedly (test: COMMIT reply lost)');
  };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'reissueKey') return reissueKey;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    arm() {
      armed = true;
    },
  };
}

let testStore: TestStore;
let faulty: ReturnType<typeof commitReplyLost>;
let node: TestNode;
const clock = new FakeClock(TEST_NOW);
const published: TenantChange[] = [];
let tenantSeq = 0;

beforeAll(async () => {
  testStore = await pgTestStore();
  faulty = commitReplyLost(testStore.store);
  node = await startNode({
    store: faulty.store,
    clock: clock.now,
    // One loopback client sends every request; the per-IP limit is not the subject.
    http: { rateLimits: { perIp: { limit: 1_000_000, windowMs: 60_000 } } },
  });
  node.runtime.events.subscribe((change) => published.push(change));
});
afterAll(async () => {
  await node?.close();
  await testStore?.dispose();
});
beforeEach(() => {
  clock.ms = TEST_NOW;
  published.length = 0;
  node.logger.lines.length = 0;
});

/** A tenant with active support and a key; answers its id and key text. */
async function freshTenant(): Promise<{ tenant: string; key: string }> {
  const tenant = `replay-${++tenantSeq}`;
  // Issued a minute ago, so the tenant's keys list oldest first.
  const issuedAt = clock.ms - 60_000;
  return {
    tenant,
    key: await tenantWithKey(testStore.store, node.licenses, tenant, ACTIVE_ORDERS, issuedAt),
  };
}

interface Answer {
  status: number;
  json: { keyId?: string; key?: string; error?: string; message?: string };
}

async function reissue(key: string, server: string, idempotencyKey?: string): Promise<Answer> {
  const res = await fetch(`${node.app.url}${PATH}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tenantToken(key, clock.ms)}`,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify({ server }),
  });
  const json = (await res.json()) as Answer['json'];
  assertMatchesOpenApi(PATH, 'post', res.status, json);
  return { status: res.status, json };
}

async function iceStatus(key: string): Promise<number> {
  const res = await fetch(`${node.app.url}/v1/ice-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
  });
  await res.body?.cancel();
  return res.status;
}

const revoked = { status: 401, json: expect.objectContaining({ error: 'license_revoked' }) };

describe('POST /v1/license-keys/reissue with Idempotency-Key', () => {
  it('answers a retry after a lost COMMIT reply with the key that was committed', async () => {
    const { tenant, key: oldKey } = await freshTenant();
    const value = crypto.randomUUID();
    faulty.arm();
    const lost = await reissue(oldKey, 'moved.example.jp', value);
    // The caller sees a failure, yet the reissue is in the store: its key is revoked.
    expect(lost).toMatchObject({ status: 503, json: { error: 'entitlement_unavailable' } });
    const keys = await testStore.store.listKeys(tenant);
    expect(keys.map((k) => k.revoked)).toEqual([true, false]);
    const committed = keys[1]!;
    expect(committed.requestHash).toBe(createHash('sha256').update(`${tenant}\n${value}`).digest('hex'));
    // Nobody could be told of a revocation icegate did not see commit; every node is asked to
    // re-read the signing key instead of trusting its cache.
    const oldKeyId = oldKey.slice(0, oldKey.indexOf('.'));
    expect(published).toEqual([{ tenant, kind: 'key_uncertain', keyId: oldKeyId }]);
    published.length = 0;
    expect(await iceStatus(oldKey)).toBe(401);
    // Without the header (the old behaviour) the caller would be locked out.
    expect(await reissue(oldKey, 'moved.example.jp')).toMatchObject(revoked);

    const retry = await reissue(oldKey, 'moved.example.jp', value);
    expect(retry.status).toBe(200);
    expect(retry.json.keyId).toBe(committed.keyId);
    expect(retry.json.key).toBe(`${committed.keyId}.${committed.secret}`);
    expect(await iceStatus(retry.json.key!)).toBe(200);
    expect(await testStore.store.listKeys(tenant)).toHaveLength(2);
    // The lost answer took the fleet's notice with it; the replay gives it.
    expect(published).toEqual([
      { tenant, kind: 'key_revoked', keyId: oldKeyId },
      { tenant, kind: 'key_issued', keyId: committed.keyId },
    ]);
  });

  it('replays the same keyId and key, writing nothing and announcing the change again, with one log line', async () => {
    const { tenant, key: oldKey } = await freshTenant();
    const oldKeyId = oldKey.slice(0, oldKey.indexOf('.'));
    const value = crypto.randomUUID();
    const first = await reissue(oldKey, 'neo2.example.jp', value);
    expect(first.status).toBe(200);
    expect(published.map((p) => p.kind)).toEqual(['key_revoked', 'key_issued']);
    published.length = 0;
    const before = (await testStore.store.listKeys(tenant)).map((k) => k.toPublic());

    clock.advance(60_000);
    const again = await reissue(oldKey, ' neo2.example.jp ', value);
    expect(again).toEqual(first);
    expect((await testStore.store.listKeys(tenant)).map((k) => k.toPublic())).toEqual(before);
    expect(published).toEqual([
      { tenant, kind: 'key_revoked', keyId: oldKeyId },
      { tenant, kind: 'key_issued', keyId: first.json.keyId },
    ]);
    const lines = node.logger.matching('license key reissue replayed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      fields: { tenant, keyId: oldKeyId, newKeyId: first.json.keyId },
    });
    const logged = JSON.stringify(node.logger.lines);
    for (const secret of [value, first.json.key!, oldKey]) expect(logged).not.toContain(secret);
    // The replayed key is the tenant's key in force.
    expect(await iceStatus(again.json.key!)).toBe(200);
  });

  it('refuses a retry that is not the same request, as any revoked key', async () => {
    const { tenant, key: oldKey } = await freshTenant();
    const value = crypto.randomUUID();
    const first = await reissue(oldKey, 'neo2.example.jp', value);
    expect(first.status).toBe(200);
    published.length = 0;
    // A stolen old key without the caller's value, or with it but for another server.
    expect(await reissue(oldKey, 'neo2.example.jp', crypto.randomUUID())).toMatchObject(revoked);
    expect(await reissue(oldKey, 'neo2.example.jp')).toMatchObject(revoked);
    expect(await reissue(oldKey, 'attacker.example.jp', value)).toMatchObject(revoked);
    expect(await testStore.store.listKeys(tenant)).toHaveLength(2);
    expect(published).toEqual([]);
    expect(node.logger.matching('license key reissue replayed')).toEqual([]);

    // Once the successor was itself reissued (so revoked), it is not handed out again.
    const second = await reissue(first.json.key!, 'neo3.example.jp', crypto.randomUUID());
    expect(second.status).toBe(200);
    expect(await reissue(oldKey, 'neo2.example.jp', value)).toMatchObject(revoked);
    expect(await reissue(first.json.key!, 'neo3.example.jp', value)).toMatchObject(revoked);
  });

  it('replays for 24 hours after the reissue, not longer', async () => {
    const { key: oldKey } = await freshTenant();
    const value = crypto.randomUUID();
    const first = await reissue(oldKey, 'neo2.example.jp', value);
    expect(first.status).toBe(200);
    clock.advance(DAY_MS - 1_000);
    expect(await reissue(oldKey, 'neo2.example.jp', value)).toEqual(first);
    clock.advance(2_000);
    expect(await reissue(oldKey, 'neo2.example.jp', value)).toMatchObject(revoked);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'a'.repeat(256)],
    ['a space', 'abc def'],
    ['non-ASCII', 'clé-1'],
  ])('refuses an Idempotency-Key that is %s with 400, changing nothing', async (_name, value) => {
    const { tenant, key } = await freshTenant();
    const answer = await reissue(key, 'neo2.example.jp', value);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid_request');
    expect(answer.json.message).toContain('Idempotency-Key');
    expect((await testStore.store.listKeys(tenant)).map((k) => k.revoked)).toEqual([false]);
  });

  it('reissues with an active key as before, header or not; a new reissue needs a new value', async () => {
    const { tenant, key: first } = await freshTenant();
    const longest = `${'x'.repeat(254)}~`;
    const second = await reissue(first, 'neo2.example.jp', longest);
    expect(second.status).toBe(200);
    clock.advance(1_000);
    const third = await reissue(second.json.key!, 'neo3.example.jp', crypto.randomUUID());
    expect(third.status).toBe(200);
    expect(third.json.keyId).not.toBe(second.json.keyId);
    clock.advance(1_000);
    const fourth = await reissue(third.json.key!, 'neo4.example.jp');
    expect(fourth.status).toBe(200);
    expect(published.filter((p) => p.kind === 'key_issued')).toHaveLength(3);
    const keys = await testStore.store.listKeys(tenant);
    expect(keys.map((k) => k.revoked)).toEqual([true, true, true, false]);
    expect(keys[3]?.requestHash).toBeNull();
  });

  it("counts replays against the tenant's rate limit", async () => {
    const limited = await startNode({
      store: testStore.store,
      clock: clock.now,
      http: {
        rateLimits: {
          perIp: { limit: 1_000_000, windowMs: 60_000 },
          perTenant: { limit: 2, windowMs: 60_000 },
        },
      },
    });
    try {
      const { key: oldKey } = await freshTenant();
      const value = crypto.randomUUID();
      const post = (server: string) =>
        fetch(`${limited.app.url}${PATH}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tenantToken(oldKey, clock.ms)}`,
            'content-type': 'application/json',
            'idempotency-key': value,
          },
          body: JSON.stringify({ server }),
        });
      expect((await post('neo2.example.jp')).status).toBe(200);
      expect((await post('neo2.example.jp')).status).toBe(200);
      const third = await post('neo2.example.jp');
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({ error: 'rate_limited' });
    } finally {
      await limited.close();
    }
  });

  it('lets browsers send the header (CORS preflight)', async () => {
    const res = await fetch(`${node.app.url}${PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.jp',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
  });
});
