// The admin API and self-service reissue over real HTTP, on PostgreSQL (fresh schema) and Redis
// (own key prefix): admin token rules, every admin route with OpenAPI-validated responses, and
// the tenant-changed event each write publishes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantChange } from '../../src/entitlement/cache/index.js';
import {
  ACTIVE_ORDERS,
  adminToken,
  assertMatchesOpenApi,
  deleteRedisPrefix,
  EXPIRED_ORDERS,
  FakeClock,
  pgTestStore,
  requireRedis,
  startNode,
  TEST_ADMIN_SECRET,
  TEST_NOW,
  TEST_REDIS_URL,
  type TestNode,
  type TestStore,
  tenantToken,
  uniquePrefix,
  unsignedToken,
} from './http-harness.js';

let testStore: TestStore;
let node: TestNode;
const clock = new FakeClock(TEST_NOW);
const prefix = uniquePrefix();
const published: TenantChange[] = [];

async function call(
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; template?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = options.token === undefined ? adminToken(TEST_ADMIN_SECRET, clock.ms) : options.token;
  const res = await fetch(`${node.app.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assertMatchesOpenApi(options.template ?? path, method, res.status, json);
  return { status: res.status, json };
}

beforeAll(async () => {
  await requireRedis();
  testStore = await pgTestStore();
  node = await startNode({
    store: testStore.store,
    clock: clock.now,
    redisUrl: TEST_REDIS_URL,
    redisPrefix: prefix,
  });
  node.runtime.events.subscribe((change) => published.push(change));
});

afterAll(async () => {
  await node?.close();
  await testStore?.dispose();
  await deleteRedisPrefix(prefix);
});

describe('admin authentication', () => {
  it('refuses missing, forged, exp-less, expired, unsigned and scope-less tokens', async () => {
    const now = clock.ms;
    const t = '/v1/admin/tenants';
    expect((await call('GET', t, { token: null })).json.error).toBe('invalid_token');
    expect(
      (await call('GET', t, { token: adminToken('another-secret-of-enough-length-000000', now) })).status,
    ).toBe(401);
    const noExp = adminToken(TEST_ADMIN_SECRET, now, { scope: 'admin', exp: undefined });
    expect((await call('GET', t, { token: noExp })).json.error).toBe('invalid_token');
    const expired = adminToken(TEST_ADMIN_SECRET, now, { scope: 'admin', exp: Math.floor(now / 1000) - 60 });
    expect((await call('GET', t, { token: expired })).json.error).toBe('token_expired');
    expect((await call('GET', t, { token: unsignedToken('admin', now) })).json.error).toBe('invalid_token');
    const noScope = await call('GET', t, { token: adminToken(TEST_ADMIN_SECRET, now, { sub: 'ops' }) });
    expect(noScope).toMatchObject({ status: 403, json: { error: 'forbidden' } });
    const listScope = await call('GET', t, {
      token: adminToken(TEST_ADMIN_SECRET, now, { scope: 'read admin' }),
    });
    expect(listScope.status).toBe(200);
  });

  // Issue 15 point 4: each of these was answered 200 before.
  it('refuses a foreign aud or iss, an exp 100 years ahead and an iat in the future with 401 invalid_token', async () => {
    const now = clock.ms;
    const nowS = Math.floor(now / 1000);
    const t = '/v1/admin/tenants';
    for (const claims of [
      { aud: 'another-service' },
      { iss: 'https://idp.example.com' },
      { aud: undefined, iss: undefined },
      { exp: nowS + 100 * 365 * 86_400 },
      { iat: nowS + 3600 },
    ]) {
      const token = adminToken(TEST_ADMIN_SECRET, now, { scope: 'admin', ...claims });
      const answer = await call('GET', t, { token });
      expect(answer, JSON.stringify(claims)).toMatchObject({ status: 401, json: { error: 'invalid_token' } });
    }
    expect(
      (await call('GET', t, { token: adminToken(TEST_ADMIN_SECRET, now, { scope: 'admin', iat: nowS }) }))
        .status,
    ).toBe(200);
  });
});

describe('admin API', () => {
  it('imports orders, lists tenants and shows timeline, entitlement and keys', async () => {
    published.length = 0;
    const imported = await call('POST', '/v1/admin/orders', {
      body: { tenant: 'acme', name: 'ACME K.K.', orders: ACTIVE_ORDERS },
    });
    expect(imported.status).toBe(200);
    expect(imported.json).toMatchObject({ tenant: 'acme', accepted: ['a-1'], rejected: [] });
    expect(published).toEqual([{ tenant: 'acme', kind: 'orders' }]);

    const again = await call('POST', '/v1/admin/orders', { body: { tenant: 'acme', orders: ACTIVE_ORDERS } });
    expect(again.json).toMatchObject({ unchanged: ['a-1'], accepted: [] });
    expect(published).toHaveLength(1);

    const list = await call('GET', '/v1/admin/tenants');
    expect(list.json.tenants).toEqual([expect.objectContaining({ id: 'acme', name: 'ACME K.K.' })]);

    const show = await call('GET', '/v1/admin/tenants/acme', { template: '/v1/admin/tenants/{tenant}' });
    expect(show.json.entitlement).toEqual({
      tenant: 'acme',
      active: true,
      state: 'active',
      licenses: 50,
      until: '2027-11-30',
    });
    expect((show.json.timeline as { periods: unknown[] }).periods).toHaveLength(1);

    const unknown = await call('GET', '/v1/admin/tenants/nobody', { template: '/v1/admin/tenants/{tenant}' });
    expect(unknown).toMatchObject({ status: 404, json: { error: 'unknown_tenant' } });
  });

  it('refuses malformed histories with 400 and reused order ids with 409', async () => {
    const bad = await call('POST', '/v1/admin/orders', {
      body: { tenant: 'acme', orders: [{ id: 'z', kind: 'bogus', receivedAt: 'x', licenses: -1 }] },
    });
    expect(bad).toMatchObject({ status: 400, json: { error: 'invalid_request' } });
    expect(bad.json.message).toMatch(/orders\[0\]/);
    const badTenant = await call('POST', '/v1/admin/orders', { body: { tenant: 'a b', orders: [] } });
    expect(badTenant.status).toBe(400);
    const conflict = await call('POST', '/v1/admin/orders', {
      body: { tenant: 'acme', orders: [{ ...ACTIVE_ORDERS[0]!, licenses: 99 }] },
    });
    expect(conflict).toMatchObject({ status: 409, json: { error: 'order_conflict' } });
  });

  it('issues, reissues and revokes keys, publishing each change, and old keys stop working at once', async () => {
    const keysPath = '/v1/admin/tenants/{tenant}/license-keys';
    published.length = 0;
    const issued = await call('POST', '/v1/admin/tenants/acme/license-keys', {
      body: { server: 'neo1.acme.example.jp' },
      template: keysPath,
    });
    expect(issued.status).toBe(201);
    const firstKey = issued.json.key as string;
    expect(firstKey.startsWith(`${issued.json.keyId}.`)).toBe(true);
    expect(published).toEqual([{ tenant: 'acme', kind: 'key_issued', keyId: issued.json.keyId }]);

    const twice = await call('POST', '/v1/admin/tenants/acme/license-keys', {
      body: { server: 'neo2.acme.example.jp' },
      template: keysPath,
    });
    expect(twice).toMatchObject({ status: 409, json: { error: 'active_key_exists' } });

    const ice = (key: string) =>
      fetch(`${node.app.url}/v1/ice-servers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
      });
    expect((await ice(firstKey)).status).toBe(200);

    published.length = 0;
    const reissued = await call('POST', '/v1/admin/tenants/acme/license-keys/reissue', {
      body: { server: 'neo2.acme.example.jp' },
      template: '/v1/admin/tenants/{tenant}/license-keys/reissue',
    });
    expect(reissued.status).toBe(200);
    expect(reissued.json.revoked).toEqual([issued.json.keyId]);
    expect(published).toEqual([
      { tenant: 'acme', kind: 'key_revoked', keyId: issued.json.keyId },
      { tenant: 'acme', kind: 'key_issued', keyId: reissued.json.keyId },
    ]);
    const old = await ice(firstKey);
    expect(old.status).toBe(401);
    expect(await old.json()).toMatchObject({ error: 'license_revoked' });
    expect((await ice(reissued.json.key as string)).status).toBe(200);

    const listed = await call('GET', '/v1/admin/tenants/acme/license-keys', { template: keysPath });
    const active = Object.fromEntries(
      (listed.json.keys as { keyId: string; revokedAt: string | null }[]).map((k) => [
        k.keyId,
        k.revokedAt === null,
      ]),
    );
    expect(active).toEqual({ [issued.json.keyId as string]: false, [reissued.json.keyId as string]: true });
    expect(JSON.stringify(listed.json)).not.toContain((reissued.json.key as string).split('.')[1]);

    published.length = 0;
    const revoked = await call('POST', `/v1/admin/license-keys/${reissued.json.keyId}/revoke`, {
      template: '/v1/admin/license-keys/{keyId}/revoke',
    });
    expect(revoked.status).toBe(200);
    expect((revoked.json.key as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect(published).toEqual([{ tenant: 'acme', kind: 'key_revoked', keyId: reissued.json.keyId }]);
    expect((await ice(reissued.json.key as string)).status).toBe(401);

    const missing = await call('POST', `/v1/admin/license-keys/lk_${'b'.repeat(20)}/revoke`, {
      template: '/v1/admin/license-keys/{keyId}/revoke',
    });
    expect(missing).toMatchObject({ status: 404, json: { error: 'unknown_key' } });
  });

  it('refuses an admin reissue for a tenant without support with 403 support_inactive', async () => {
    await call('POST', '/v1/admin/orders', { body: { tenant: 'oldco', orders: EXPIRED_ORDERS } });
    const res = await call('POST', '/v1/admin/tenants/oldco/license-keys/reissue', {
      body: { server: 'x' },
      template: '/v1/admin/tenants/{tenant}/license-keys/reissue',
    });
    expect(res).toMatchObject({ status: 403, json: { error: 'support_inactive' } });
  });

  it("lists and closes a tenant's allocations through RelayControl", async () => {
    node.relay.allocations = [
      {
        node: 'node-a',
        id: 7,
        tenant: 'acme',
        username: '1800000000:acme:lk_x.abc',
        keyId: null,
        transport: 'udp',
        client: '127.0.0.1:50000',
        relayed: '127.0.0.1:49160',
        createdAt: new Date(clock.ms).toISOString(),
        expiresAt: new Date(clock.ms + 600_000).toISOString(),
      },
    ];
    const template = '/v1/admin/tenants/{tenant}/allocations';
    const listed = await call('GET', '/v1/admin/tenants/acme/allocations', { template });
    expect((listed.json.allocations as unknown[]).length).toBe(1);
    const closed = await call('DELETE', '/v1/admin/tenants/acme/allocations', { template });
    expect(closed.json).toEqual({ closed: 1 });
    expect(node.relay.closed).toEqual([{ tenant: 'acme', reason: 'admin' }]);
  });

  it("answers 404 unknown_tenant to GET and DELETE of an unknown tenant's allocations, as GET /v1/admin/tenants/{id} does", async () => {
    const template = '/v1/admin/tenants/{tenant}/allocations';
    const tenant = await call('GET', '/v1/admin/tenants/nobody-here', {
      template: '/v1/admin/tenants/{tenant}',
    });
    expect(tenant).toMatchObject({ status: 404, json: { error: 'unknown_tenant' } });
    const listed = await call('GET', '/v1/admin/tenants/nobody-here/allocations', { template });
    expect(listed).toMatchObject({ status: 404, json: { error: 'unknown_tenant' } });
    const closed = await call('DELETE', '/v1/admin/tenants/nobody-here/allocations', { template });
    expect(closed).toMatchObject({ status: 404, json: { error: 'unknown_tenant' } });
    expect(node.relay.closed).toEqual([{ tenant: 'acme', reason: 'admin' }]);
  });
});

describe('POST /v1/license-keys/reissue (self-service)', () => {
  it('answers a new key for a token of the current key, and the old key is refused from then on', async () => {
    await call('POST', '/v1/admin/orders', { body: { tenant: 'selfie', orders: ACTIVE_ORDERS } });
    const issued = await call('POST', '/v1/admin/tenants/selfie/license-keys', {
      body: { server: 'old-host' },
      template: '/v1/admin/tenants/{tenant}/license-keys',
    });
    const oldKey = issued.json.key as string;
    const reissue = (key: string, body: unknown) =>
      fetch(`${node.app.url}/v1/license-keys/reissue`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenantToken(key, clock.ms)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });

    const missing = await reissue(oldKey, {});
    const missingJson = await missing.json();
    expect(missing.status).toBe(400);
    assertMatchesOpenApi('/v1/license-keys/reissue', 'post', 400, missingJson);

    published.length = 0;
    const ok = await reissue(oldKey, { server: 'new-host' });
    const json = (await ok.json()) as { keyId: string; key: string };
    expect(ok.status).toBe(200);
    assertMatchesOpenApi('/v1/license-keys/reissue', 'post', 200, json);
    expect(json.key.startsWith(`${json.keyId}.`)).toBe(true);
    expect(published.map((p) => p.kind)).toEqual(['key_revoked', 'key_issued']);

    const again = await reissue(oldKey, { server: 'newer-host' });
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ error: 'license_revoked' });
    const withNew = await reissue(json.key, { server: 'newer-host' });
    expect(withNew.status).toBe(200);
  });

  it('refuses a tenant whose support has expired', async () => {
    const issued = await call('POST', '/v1/admin/tenants/oldco/license-keys', {
      body: { server: 'h' },
      template: '/v1/admin/tenants/{tenant}/license-keys',
    });
    const res = await fetch(`${node.app.url}/v1/license-keys/reissue`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenantToken(issued.json.key as string, clock.ms)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ server: 'h2' }),
    });
    const json = await res.json();
    expect(res.status).toBe(403);
    expect(json).toMatchObject({ error: 'support_expired' });
    assertMatchesOpenApi('/v1/license-keys/reissue', 'post', 403, json);
  });
});
