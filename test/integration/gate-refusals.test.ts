// Every refusal of the credential endpoint, through a real node (startIcegate over PostgreSQL
// and Redis, SUPPORT_GRACE_DAYS=30): support expired, not yet started, in grace (served),
// unknown key, revoked key, bad signature, exp too far ahead, missing exp, expired token. Each
// gives its stable code and status, as JSON that matches the OpenAPI document. The relay
// refuses the same tenants on its own (a credential minted with the TURN secret is not enough).
import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintCredential, SecretRing } from '../../src/auth/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  admin,
  expectState,
  type GateNode,
  iceServers,
  keyIdOf,
  ordersAt,
  type SharedServices,
  sharedServices,
  startGateNode,
  TEST_TURN_SECRET,
  tenantToken,
  tenantWithKey,
} from './gate-harness.js';
import { assertMatchesOpenApi } from './http-harness.js';

const GRACE_DAYS = 30;

let services: SharedServices;
let gate: GateNode;
const keys: Record<string, string> = {};

beforeAll(async () => {
  services = await sharedServices();
  gate = await startGateNode(
    PORTS.gateRefusals,
    { ...services.env, SUPPORT_GRACE_DAYS: String(GRACE_DAYS) },
    { redisPrefix: services.redisPrefix, refusalLogIntervalMs: 100 },
  );
  const now = Date.now();
  const tenants = {
    acme: ordersAt.active(now),
    lapsed: ordersAt.expired(now),
    future: ordersAt.notStarted(now),
    graceful: ordersAt.endedTenDaysAgo(now),
    revoked: ordersAt.active(now),
  };
  expectState('acme', tenants.acme, now, 'active', GRACE_DAYS);
  expectState('lapsed', tenants.lapsed, now, 'expired', GRACE_DAYS);
  expectState('future', tenants.future, now, 'not_started', GRACE_DAYS);
  expectState('graceful', tenants.graceful, now, 'grace', GRACE_DAYS);
  for (const [tenant, orders] of Object.entries(tenants))
    keys[tenant] = await tenantWithKey(gate.url, tenant, orders);
}, 30_000);

afterAll(async () => {
  await gate?.close();
  await services?.dispose();
});

/** POSTs `token`, expects the refusal `code` with `status`, valid against OpenAPI, without internals. */
async function expectRefusal(token: string, status: number, code: string): Promise<void> {
  const answer = await iceServers(gate.url, token);
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error: code });
  assertMatchesOpenApi('/v1/ice-servers', 'post', status, answer.body);
  const text = JSON.stringify(answer.body);
  expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'message']);
}

describe('refusals of POST /v1/ice-servers through a real node', () => {
  it('serves an active tenant', async () => {
    const answer = await iceServers(gate.url, tenantToken(keys.acme!, Date.now()));
    expect(answer.status).toBe(200);
  });

  it('refuses expired support: 403 support_expired', async () => {
    await expectRefusal(tenantToken(keys.lapsed!, Date.now()), 403, 'support_expired');
  });

  it('refuses support that has not started: 403 support_not_started', async () => {
    await expectRefusal(tenantToken(keys.future!, Date.now()), 403, 'support_not_started');
  });

  it('serves a tenant in grace (support ended 10 days ago, SUPPORT_GRACE_DAYS=30)', async () => {
    const answer = await iceServers(gate.url, tenantToken(keys.graceful!, Date.now()));
    expect(answer.status).toBe(200);
    assertMatchesOpenApi('/v1/ice-servers', 'post', 200, answer.body);
    // The credential lives no longer than the grace: at most to the end of the 30th grace day.
    expect(Date.parse(answer.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 21 * 86_400_000);
  });

  it('refuses an unknown key: 401 unknown_license', async () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    const id = `lk_${Array.from(randomBytes(20), (b) => alphabet[b % 32]).join('')}`;
    await expectRefusal(
      tenantToken(`${id}.some-secret-that-nobody-holds`, Date.now()),
      401,
      'unknown_license',
    );
  });

  it('refuses a revoked key: 401 license_revoked', async () => {
    const key = keys.revoked!;
    expect((await iceServers(gate.url, tenantToken(key, Date.now()))).status).toBe(200);
    const revoked = await admin(gate.url, 'POST', `/v1/admin/license-keys/${keyIdOf(key)}/revoke`);
    expect(revoked.status).toBe(200);
    await expectRefusal(tenantToken(key, Date.now()), 401, 'license_revoked');
  });

  it('refuses a bad signature: 401 invalid_token', async () => {
    const forged = `${keyIdOf(keys.acme!)}.not-the-secret-of-this-key`;
    await expectRefusal(tenantToken(forged, Date.now()), 401, 'invalid_token');
  });

  it('refuses exp more than 10 minutes ahead: 401 invalid_token', async () => {
    await expectRefusal(
      tenantToken(keys.acme!, Date.now(), {}, { expiresInSeconds: 3600 }),
      401,
      'invalid_token',
    );
  });

  it('refuses a token without exp: 401 invalid_token', async () => {
    await expectRefusal(
      tenantToken(keys.acme!, Date.now(), {}, { expiresInSeconds: null }),
      401,
      'invalid_token',
    );
  });

  it('refuses an expired token: 401 token_expired', async () => {
    await expectRefusal(
      tenantToken(keys.acme!, Date.now() - 600_000, {}, { expiresInSeconds: 60 }),
      401,
      'token_expired',
    );
  });

  it('refuses another algorithm than HS256: 401 invalid_token', async () => {
    const key = keys.acme!;
    const token = jwt.sign({ exp: Math.floor(Date.now() / 1000) + 300 }, key.slice(key.indexOf('.') + 1), {
      algorithm: 'HS512',
      keyid: keyIdOf(key),
    });
    await expectRefusal(token, 401, 'invalid_token');
  });
});

describe('the relay refuses the same tenants on its own', () => {
  async function allocateAs(tenant: string): Promise<number> {
    // A credential minted straight from the TURN secret: only the relay's entitlement check stands in the way.
    const credential = mintCredential(new SecretRing([TEST_TURN_SECRET]), {
      tenant,
      ttlSeconds: 600,
      now: Date.now(),
    });
    const client = await TurnClient.open({
      ...gate.node.turnAddress(),
      username: credential.username,
      password: credential.password,
    });
    try {
      const response = await client.allocate();
      if (response.code === 200) await client.refresh(0);
      return response.code;
    } finally {
      await client.close();
    }
  }

  it('allocates for active and grace tenants and answers 403 for expired, not started and unknown ones', async () => {
    expect(await allocateAs('acme')).toBe(200);
    expect(await allocateAs('graceful')).toBe(200);
    expect(await allocateAs('lapsed')).toBe(403);
    expect(await allocateAs('future')).toBe(403);
    expect(await allocateAs('nobody')).toBe(403);
    // One summary line per tenant and reason (issue 18), naming why.
    await vi.waitFor(() => {
      const denied = gate.logger.matching('TURN requests refused');
      expect(denied.map((l) => [l.fields.tenant, l.fields.reason, l.fields.count])).toEqual(
        expect.arrayContaining([
          ['lapsed', 'support_expired', 1],
          ['future', 'support_not_started', 1],
          ['nobody', 'support_expired', 1],
        ]),
      );
    });
  });
});
