// The credential endpoint end to end over real HTTP, in the embedded mode (file store, no
// Redis): every refusal code, the RTCConfiguration and draft-uberti shapes, ttl rules, CORS,
// security headers, body errors, and OpenAPI validation of each real response.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIceServers, RTCPeerConnection } from 'werift';
import { parseRestUsername, SecretRing } from '../../src/auth/index.js';
import { StoredKey } from '../../src/entitlement/store/index.js';
import { parseCredentialOpaque, userPseudonym } from '../../src/http/index.js';
import { newKeyId, newKeySecret } from '../../src/licensing/index.js';
import {
  ACTIVE_ORDERS,
  assertMatchesOpenApi,
  EXPIRED_ORDERS,
  FakeClock,
  fileTestStore,
  GRACE_ORDERS,
  LAST_DAY_ORDERS,
  NONE_ORDERS,
  NOT_STARTED_ORDERS,
  startNode,
  TEST_NOW,
  TEST_TURN_SECRET,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
  unsignedToken,
} from './http-harness.js';

const GHOST_KEY = new StoredKey({
  keyId: newKeyId(),
  tenant: 'ghost',
  serverIdentity: 'neo.ghost.example.jp',
  secret: newKeySecret(),
  issuedAt: new Date(TEST_NOW - 86_400_000),
  revokedAt: null,
  replacedBy: null,
});

let testStore: TestStore;
let node: TestNode;
const clock = new FakeClock(TEST_NOW);
const keys: Record<string, string> = {};

async function post(
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${node.app.url}${path}`, {
    method: 'POST',
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

async function iceServers(token: string | null, body?: unknown) {
  const out = await post('/v1/ice-servers', token, body);
  assertMatchesOpenApi('/v1/ice-servers', 'post', out.res.status, out.json);
  return out;
}

function token(tenant: string, claims: Record<string, unknown> = {}, expiresInSeconds: number | null = 300) {
  return tenantToken(keys[tenant]!, clock.ms, claims, { expiresInSeconds });
}

beforeAll(async () => {
  testStore = await fileTestStore();
  node = await startNode({
    store: testStore.store,
    clock: clock.now,
    graceDays: 30,
    // A valid key of a tenant the store never imported (issue 16 point 4): the key cache knows
    // it, the store has no order history for it.
    http: {
      keys: {
        lookup: (id) => (id === GHOST_KEY.keyId ? Promise.resolve(GHOST_KEY) : node.runtime.keys.lookup(id)),
      },
    },
  });
  const orders = {
    acme: ACTIVE_ORDERS,
    oldco: EXPIRED_ORDERS,
    late: NOT_STARTED_ORDERS,
    gracey: GRACE_ORDERS,
    lastday: LAST_DAY_ORDERS,
    nobody: NONE_ORDERS,
    revokee: ACTIVE_ORDERS,
  };
  for (const [tenant, list] of Object.entries(orders)) {
    keys[tenant] = await tenantWithKey(testStore.store, node.licenses, tenant, list);
  }
});

afterAll(async () => {
  await node?.close();
  await testStore?.dispose();
});

describe('POST /v1/ice-servers', () => {
  it('answers an RTCConfiguration with STUN and TURN URLs of every listener and a REST credential', async () => {
    const { res, json } = await iceServers(token('acme', { sub: 'alice@example.jp' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const servers = json.iceServers as { urls: string[]; username?: string; credential?: string }[];
    expect(servers[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] });
    expect(servers[1]!.urls).toEqual([
      'turn:127.0.0.1:3478?transport=udp',
      'turn:127.0.0.1:3478?transport=tcp',
      'turns:localhost:5349?transport=tcp',
    ]);
    expect(json.ttl).toBe(86_400);
    expect(json.expiresAt).toBe(new Date(TEST_NOW + 86_400_000).toISOString());

    const username = servers[1]!.username!;
    const parsed = parseRestUsername(username)!;
    expect(parsed.tenant).toBe('acme');
    expect(parsed.expiry).toBe(TEST_NOW / 1000 + 86_400);
    // The opaque part names the key and a pseudonym of sub, never sub itself.
    const opaque = parseCredentialOpaque(parsed.opaque!)!;
    expect(opaque.keyId).toBe(keys.acme!.split('.')[0]);
    expect(username).not.toContain('alice');
    const ring = new SecretRing([TEST_TURN_SECRET]);
    expect(opaque.user).toBe(userPseudonym(ring, 'acme', 'alice@example.jp'));
    expect(servers[1]!.credential).toBe(ring.password(username));
    expect(ring.verifyPassword(username, servers[1]!.credential!)).toBe(true);
  });

  it('answers a body that werift RTCPeerConnection takes unchanged', async () => {
    const { json } = await iceServers(token('acme'));
    const parsed = parseIceServers(json.iceServers as never);
    expect(parsed.stunServer).toEqual(['127.0.0.1', 3478]);
    expect(parsed.turnServer).toEqual(['127.0.0.1', 3478]);
    const servers = json.iceServers as { username?: string; credential?: string }[];
    expect(parsed.turnUsername).toBe(servers[1]!.username);
    expect(parsed.turnPassword).toBe(servers[1]!.credential);
    const pc = new RTCPeerConnection(json as never);
    expect(pc.config.iceServers).toEqual(json.iceServers);
    await pc.close();
  });

  it('gives the same pseudonym to the same sub and random ones without sub', async () => {
    const a = await iceServers(token('acme', { sub: 'u-1' }));
    const b = await iceServers(token('acme', { sub: 'u-1' }));
    const c = await iceServers(token('acme'));
    const d = await iceServers(token('acme'));
    const user = (r: typeof a) =>
      parseCredentialOpaque(
        parseRestUsername((r.json.iceServers as { username?: string }[])[1]!.username!)!.opaque!,
      )!.user;
    expect(user(a)).toBe(user(b));
    expect(user(c)).not.toBe(user(d));
  });

  it('shortens the ttl on request and caps a longer request at the maximum', async () => {
    const short = await iceServers(token('acme'), { ttl: 600 });
    expect(short.json.ttl).toBe(600);
    expect(short.json.expiresAt).toBe(new Date(TEST_NOW + 600_000).toISOString());
    const long = await iceServers(token('acme'), { ttl: 10 * 86_400 });
    expect(long.json.ttl).toBe(86_400);
  });

  it('never lets a credential outlive the last day of support (JST)', async () => {
    const { res, json } = await iceServers(token('lastday'));
    expect(res.status).toBe(200);
    // 12:00 JST on the last day: 12 hours left.
    expect(json.ttl).toBe(12 * 3600);
  });

  it('serves a tenant in grace', async () => {
    const { res } = await iceServers(token('gracey'));
    expect(res.status).toBe(200);
  });

  it.each([
    ['oldco', 403, 'support_expired'],
    ['late', 403, 'support_not_started'],
    ['nobody', 403, 'support_expired'],
  ])('refuses %s with %i %s', async (tenant, status, code) => {
    const { res, json } = await iceServers(token(tenant));
    expect(res.status).toBe(status);
    expect(json.error).toBe(code);
    expect(typeof json.message).toBe('string');
  });

  it('refuses a tenant that was never imported with 404 unknown_tenant (issue 16 point 4)', async () => {
    const ghostToken = tenantToken(
      `${GHOST_KEY.keyId}.${GHOST_KEY.secret}`,
      clock.ms,
      {},
      { expiresInSeconds: 300 },
    );
    const { res, json } = await iceServers(ghostToken);
    expect(res.status).toBe(404);
    expect(json).toEqual({
      error: 'unknown_tenant',
      message: 'this tenant is not known to icegate: its orders were never imported',
    });
    const uberti = await fetch(`${node.app.url}/v1/turn-credentials?service=turn`, {
      headers: { authorization: `Bearer ${ghostToken}` },
    });
    expect(uberti.status).toBe(404);
    expect(((await uberti.json()) as { error: string }).error).toBe('unknown_tenant');
  });

  it('refuses token problems with 401 and their codes', async () => {
    const acmeKeyId = keys.acme!.split('.')[0]!;
    const cases: [string | null, string][] = [
      [null, 'invalid_token'],
      ['not-a-jwt', 'invalid_token'],
      // bad signature: right kid, wrong secret
      [tenantToken(`${acmeKeyId}.${'x'.repeat(43)}`, clock.ms), 'invalid_token'],
      // exp too far ahead (1 hour)
      [token('acme', {}, 3600), 'invalid_token'],
      // no exp
      [token('acme', {}, null), 'invalid_token'],
      // alg none
      [unsignedToken(acmeKeyId, clock.ms), 'invalid_token'],
      // expired a minute ago
      [token('acme', {}, -60), 'token_expired'],
      // a well-formed key nobody issued
      [tenantToken(`lk_${'a'.repeat(20)}.${'y'.repeat(43)}`, clock.ms), 'unknown_license'],
    ];
    for (const [tok, code] of cases) {
      const { res, json } = await iceServers(tok);
      expect({ status: res.status, code: json.error }).toEqual({ status: 401, code });
    }
  });

  it('refuses a revoked key with license_revoked', async () => {
    const keyId = keys.revokee!.split('.')[0]!;
    expect((await iceServers(token('revokee'))).res.status).toBe(200);
    await node.licenses.revoke(keyId, new Date(clock.ms));
    await node.runtime.events.publish({ tenant: 'revokee', kind: 'key_revoked', keyId });
    const { res, json } = await iceServers(token('revokee'));
    expect(res.status).toBe(401);
    expect(json.error).toBe('license_revoked');
  });

  it('refuses a bad body with 400, an oversized one with 413 and a non-JSON one with 415, all JSON', async () => {
    const bad = await iceServers(token('acme'), { ttl: 'long' });
    expect(bad.res.status).toBe(400);
    expect(bad.json.error).toBe('invalid_request');
    const zero = await iceServers(token('acme'), { ttl: 0 });
    expect(zero.json.error).toBe('invalid_request');

    const malformed = await post('/v1/ice-servers', token('acme'), '{"ttl": ');
    expect(malformed.res.status).toBe(400);
    expect(malformed.json.error).toBe('invalid_request');
    assertMatchesOpenApi('/v1/ice-servers', 'post', 400, malformed.json);

    const huge = await post('/v1/ice-servers', token('acme'), JSON.stringify({ pad: 'x'.repeat(20_000) }));
    expect(huge.res.status).toBe(413);
    expect(huge.json.error).toBe('payload_too_large');
    assertMatchesOpenApi('/v1/ice-servers', 'post', 413, huge.json);

    const text = await post('/v1/ice-servers', token('acme'), 'ttl=5', { 'content-type': 'text/plain' });
    expect(text.res.status).toBe(415);
    expect(text.json.error).toBe('unsupported_media_type');
    assertMatchesOpenApi('/v1/ice-servers', 'post', 415, text.json);
    expect(text.res.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('GET /v1/turn-credentials', () => {
  it('answers the draft-uberti shape', async () => {
    const res = await fetch(`${node.app.url}/v1/turn-credentials?service=turn`, {
      headers: { authorization: `Bearer ${token('acme')}` },
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    assertMatchesOpenApi('/v1/turn-credentials', 'get', 200, json);
    expect(Object.keys(json).sort()).toEqual(['password', 'ttl', 'uris', 'username']);
    expect(json.uris).toEqual([
      'turn:127.0.0.1:3478?transport=udp',
      'turn:127.0.0.1:3478?transport=tcp',
      'turns:localhost:5349?transport=tcp',
    ]);
    expect(
      new SecretRing([TEST_TURN_SECRET]).verifyPassword(json.username as string, json.password as string),
    ).toBe(true);
  });

  it('refuses another service with 400 and an expired tenant with 403', async () => {
    const other = await fetch(`${node.app.url}/v1/turn-credentials?service=stun`, {
      headers: { authorization: `Bearer ${token('acme')}` },
    });
    expect(other.status).toBe(400);
    assertMatchesOpenApi('/v1/turn-credentials', 'get', 400, await other.json());
    const expired = await fetch(`${node.app.url}/v1/turn-credentials?service=turn`, {
      headers: { authorization: `Bearer ${token('oldco')}` },
    });
    const json = await expired.json();
    expect(expired.status).toBe(403);
    expect(json).toMatchObject({ error: 'support_expired' });
    assertMatchesOpenApi('/v1/turn-credentials', 'get', 403, json);
  });
});

describe('HTTP hygiene', () => {
  it('allows configured CORS origins and gives others no CORS headers', async () => {
    const allowed = await fetch(`${node.app.url}/v1/ice-servers`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.jp',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.jp');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);

    const denied = await fetch(`${node.app.url}/v1/ice-servers`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();

    const actual = await fetch(`${node.app.url}/v1/ice-servers`, {
      method: 'POST',
      headers: { origin: 'https://evil.example.com', authorization: `Bearer ${token('acme')}` },
    });
    expect(actual.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends helmet security headers and no X-Powered-By', async () => {
    const res = await fetch(`${node.app.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers unknown routes with a JSON 404, never HTML', async () => {
    const res = await fetch(`${node.app.url}/nope/../v1/whatever`);
    const json = await res.json();
    expect(res.status).toBe(404);
    expect(json).toMatchObject({ error: 'not_found' });
    const wrongMethod = await fetch(`${node.app.url}/v1/ice-servers`);
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    const health = await fetch(`${node.app.url}/healthz`);
    assertMatchesOpenApi('/healthz', 'get', 200, await health.json());
    const ready = await fetch(`${node.app.url}/readyz`);
    expect(ready.status).toBe(200);
    assertMatchesOpenApi('/readyz', 'get', 200, await ready.json());
    const doc = (await (await fetch(`${node.app.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/ice-servers');
  });
});
