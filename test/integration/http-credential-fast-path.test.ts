// The fast path of POST /v1/ice-servers (src/http/credential-fast-path.ts) against the Express
// stack it stands in for: two nodes on one store and one clock, one with the fast path and one
// without, are sent the same requests, and their answers (status, body, headers), access-log
// lines and metrics must be the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVE_ORDERS,
  counterValue,
  EXPIRED_ORDERS,
  FakeClock,
  fileTestStore,
  NOT_STARTED_ORDERS,
  startNode,
  TEST_NOW,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from './http-harness.js';

let testStore: TestStore;
let fast: TestNode;
let express: TestNode;
const clock = new FakeClock(TEST_NOW);
const keys: Record<string, string> = {};
const PER_IP = 40;

/** Headers whose values differ between any two responses. */
const VARYING = new Set(['date', 'keep-alive', 'connection']);

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

async function ask(
  node: TestNode,
  init: { headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  const res = await fetch(`${node.app.url}/v1/ice-servers`, {
    method: 'POST',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!VARYING.has(name)) headers[name] = value;
  });
  return { status: res.status, body: await res.text(), headers };
}

/** Both nodes' answers to the same request, request ids set to one value where generated. */
async function both(init: { headers?: Record<string, string>; body?: string }) {
  const a = await ask(fast, init);
  const b = await ask(express, init);
  for (const answer of [a, b]) {
    expect(answer.headers['x-request-id']).toMatch(/^[\x21-\x7e]{1,128}$/);
    if (init.headers?.['x-request-id'] === undefined) answer.headers['x-request-id'] = 'generated';
  }
  return { fast: a, express: b };
}

/**
 * Without `sub`, a credential's user part is random (credential-opaque.ts), and so its password:
 * both are masked, after checking their shape.
 */
function randomUserMasked(answer: Answer, keep: boolean): Answer {
  if (keep || answer.status !== 200) return answer;
  const body = JSON.parse(answer.body) as { iceServers: { username?: string; credential?: string }[] };
  for (const server of body.iceServers) {
    if (server.username === undefined) continue;
    expect(server.username).toMatch(/^\d+:acme:lk_[a-z0-9]+\.[A-Za-z0-9_-]{12}$/);
    expect(server.credential).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    server.username = server.username.slice(0, -12);
    server.credential = 'masked';
  }
  return { ...answer, body: JSON.stringify(body) };
}

function token(tenant: string, claims: Record<string, unknown> = {}) {
  return tenantToken(keys[tenant]!, clock.ms, claims, { expiresInSeconds: 300 });
}

const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  testStore = await fileTestStore();
  const rateLimits = { perIp: { limit: PER_IP, windowMs: 60_000 } };
  fast = await startNode({ store: testStore.store, clock: clock.now, http: { rateLimits } });
  express = await startNode({
    store: testStore.store,
    clock: clock.now,
    http: { rateLimits, fastPath: false },
  });
  for (const [tenant, orders] of Object.entries({
    acme: ACTIVE_ORDERS,
    oldco: EXPIRED_ORDERS,
    late: NOT_STARTED_ORDERS,
  })) {
    keys[tenant] = await tenantWithKey(testStore.store, fast.licenses, tenant, orders);
  }
});

afterAll(async () => {
  await fast?.close();
  await express?.close();
  await testStore?.dispose();
});

describe('POST /v1/ice-servers, fast path and Express stack', () => {
  const cases: [string, () => { headers?: Record<string, string>; body?: string }][] = [
    [
      'a credential, body {}',
      () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '{}' }),
    ],
    [
      'a credential with sub and ttl',
      () => ({
        headers: { ...json, authorization: `Bearer ${token('acme', { sub: 'alice@example.jp' })}` },
        body: JSON.stringify({ ttl: 600 }),
      }),
    ],
    ['no body at all', () => ({ headers: { authorization: `Bearer ${token('acme')}` } })],
    [
      'an empty JSON body',
      () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '' }),
    ],
    [
      'JSON with charset and a request id',
      () => ({
        headers: {
          'content-type': 'Application/JSON; charset=utf-8',
          authorization: `Bearer ${token('acme')}`,
          'x-request-id': 'req-42',
        },
        body: ' \n{"ttl": 60}',
      }),
    ],
    [
      'a bad ttl',
      () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '{"ttl":"x"}' }),
    ],
    ['not JSON', () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '{nope' })],
    [
      'a JSON string (strict)',
      () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '"x"' }),
    ],
    [
      'a body over 16 kB',
      () => ({
        headers: { ...json, authorization: `Bearer ${token('acme')}` },
        body: `{"a":"${'x'.repeat(17_000)}"}`,
      }),
    ],
    [
      'a text body',
      () => ({
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${token('acme')}` },
        body: '{}',
      }),
    ],
    ['no token', () => ({ headers: json, body: '{}' })],
    ['a malformed token', () => ({ headers: { ...json, authorization: 'Bearer abc.def.ghi' }, body: '{}' })],
    [
      'expired support',
      () => ({ headers: { ...json, authorization: `Bearer ${token('oldco')}` }, body: '{}' }),
    ],
    [
      'support not started',
      () => ({ headers: { ...json, authorization: `Bearer ${token('late')}` }, body: '{}' }),
    ],
    [
      'a browser (CORS)',
      () => ({
        headers: { ...json, authorization: `Bearer ${token('acme')}`, origin: 'https://app.example.jp' },
        body: '{}',
      }),
    ],
  ];
  for (const [name, request] of cases) {
    it(`answers the same: ${name}`, async () => {
      const answers = await both(request());
      const sub = name.includes('sub');
      expect(randomUserMasked(answers.fast, sub)).toEqual(randomUserMasked(answers.express, sub));
    });
  }

  it('logs the same access-log lines and counts the same metrics', async () => {
    const accessLines = (node: TestNode) =>
      node.logger.lines
        .filter((l) => l.fields['component'] === 'access')
        .map(({ fields: { requestId: _id, durationMs: _ms, ...rest }, ...line }) => ({
          ...line,
          fields: rest,
        }));
    expect(accessLines(fast).length).toBe(cases.length);
    expect(accessLines(fast)).toEqual(accessLines(express));
    for (const outcome of ['ok', 'invalid_token', 'support_expired', 'support_not_started']) {
      const labels = { api: 'ice_servers', outcome };
      expect(await counterValue(fast.metrics, 'icegate_credential_requests_total', labels)).toBe(
        await counterValue(express.metrics, 'icegate_credential_requests_total', labels),
      );
    }
    const histogram = async (node: TestNode) => {
      const metric = node.metrics.registry.getSingleMetric('icegate_http_request_duration_seconds');
      return ((await metric?.get())?.values ?? [])
        .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))
        .map((v) => [v.labels, v.value]);
    };
    expect(await histogram(fast)).toEqual(await histogram(express));
  });

  it('answers the per-IP limit the same, Retry-After included', async () => {
    const request = () => ({ headers: { ...json, authorization: `Bearer ${token('acme')}` }, body: '{}' });
    let last = await both(request());
    for (let i = 0; i < PER_IP && last.fast.status !== 429; i++) last = await both(request());
    expect(last.fast.status).toBe(429);
    expect(last.fast).toEqual(last.express);
    expect(last.fast.headers['retry-after']).toBeDefined();
  });
});
