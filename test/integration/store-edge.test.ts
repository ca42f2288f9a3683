// Issue 15 point 5: inputs PostgreSQL cannot hold are refused at the edge with a 400 naming the
// field, with the same rules in both stores, and reads do not depend on the server's DateStyle or
// TimeZone. PostgreSQL runs as a role created here with `DateStyle=SQL,DMY` and
// `TimeZone=Pacific/Chatham` (+12:45/+13:45) as its defaults; a property test imports random order
// histories into it and into the file store and expects the same answers and the same reads.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntitlementStore } from '../../src/entitlement/store/index.js';
import type { Order } from '../../src/entitlement/types.js';
import {
  adminToken,
  FakeClock,
  fileTestStore,
  pgTestStore,
  startNode,
  TEST_ADMIN_SECRET,
  TEST_NOW,
  type TestNode,
  type TestStore,
} from './http-harness.js';
import { queryTestDatabase, requirePostgres, TEST_DATABASE_URL } from './store-pg-harness.js';

const ROLE = `icegate_dmy_${randomBytes(4).toString('hex')}`;
// A password of its own: Debian's PostgreSQL asks one of every TCP login (scram-sha-256 in its
// pg_hba.conf), not only where the server trusts local connections.
const ROLE_PASSWORD = randomBytes(12).toString('hex');
const roleUrl = (() => {
  const url = new URL(TEST_DATABASE_URL);
  url.username = ROLE;
  url.password = ROLE_PASSWORD;
  return url.toString();
})();

let pgStore: TestStore;
let fileStore: TestStore;

beforeAll(async () => {
  await requirePostgres();
  const db = new URL(TEST_DATABASE_URL).pathname.slice(1);
  await queryTestDatabase(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  await queryTestDatabase(`GRANT CREATE ON DATABASE "${db}" TO ${ROLE}`);
  await queryTestDatabase(`ALTER ROLE ${ROLE} SET DateStyle = 'SQL, DMY'`);
  await queryTestDatabase(`ALTER ROLE ${ROLE} SET TimeZone = 'Pacific/Chatham'`);
  pgStore = await pgTestStore(roleUrl);
  fileStore = await fileTestStore();
});

afterAll(async () => {
  await pgStore?.dispose();
  await fileStore?.dispose();
  const db = new URL(TEST_DATABASE_URL).pathname.slice(1);
  await queryTestDatabase(`REVOKE CREATE ON DATABASE "${db}" FROM ${ROLE}`).catch(() => undefined);
  await queryTestDatabase(`DROP OWNED BY ${ROLE}`).catch(() => undefined);
  await queryTestDatabase(`DROP ROLE IF EXISTS ${ROLE}`);
});

const NOW = new Date(TEST_NOW);

/** Everything a store reads back about one tenant. */
async function readBack(store: EntitlementStore, tenant: string) {
  const record = await store.getTenant(tenant);
  return {
    tenant: record,
    listed: (await store.listTenants()).filter((t) => t.id === tenant),
    orders: await store.listOrders(tenant),
    history: await store.orderHistory(tenant),
  };
}

/** The outcome of an import: its result, or the error's name, code and message. */
async function outcome(store: EntitlementStore, tenant: string, orders: readonly Order[]) {
  try {
    return { ok: await store.importOrders(tenant, orders, { now: NOW }) };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { error: { name: e.name, code: e.code, message: e.message } };
  }
}

describe('reads under DateStyle=SQL,DMY and TimeZone=Pacific/Chatham', () => {
  it('the role really starts sessions with those settings (so the test means something)', async () => {
    const client = new pg.Client({ connectionString: roleUrl });
    await client.connect();
    try {
      expect((await client.query('SHOW DateStyle')).rows[0].DateStyle).toBe('SQL, DMY');
      expect((await client.query('SHOW TimeZone')).rows[0].TimeZone).toBe('Pacific/Chatham');
      expect((await client.query(`SELECT DATE '2027-03-01'::text AS d`)).rows[0].d).toBe('01/03/2027');
    } finally {
      await client.end();
    }
  });

  it('reads orders, certificates, tenants and usage exactly as the file store does', async () => {
    const tenant = 'dmy-acme';
    const orders: Order[] = [
      {
        id: 'o-1',
        kind: 'initial',
        receivedAt: '2027-01-12T23:30:00+09:00',
        licenses: 40,
        certificate: { start: '2027-02-01', end: '2028-01-31' },
      },
      { id: 'o-2', kind: 'additional', receivedAt: '2027-06-03T10:00:00Z', licenses: 5 },
    ];
    const usage = [{ tenant, day: '2027-03-01', bytesRelayed: 12_345, allocationSeconds: 600 }];
    for (const s of [pgStore.store, fileStore.store]) {
      await s.importOrders(tenant, orders, { now: NOW, tenantName: 'ACME 株式会社' });
      await s.addUsage(usage);
    }
    const pgRead = await readBack(pgStore.store, tenant);
    expect(pgRead).toEqual(await readBack(fileStore.store, tenant));
    expect(pgRead.history?.orders[0]?.certificate).toEqual({ start: '2027-02-01', end: '2028-01-31' });
    expect(pgRead.orders.map((o) => o.receivedAt)).toEqual([
      '2027-01-12T14:30:00.000Z',
      '2027-06-03T10:00:00.000Z',
    ]);
    expect(await pgStore.store.usage('2027-03-01', '2027-03-01')).toEqual(usage);
    expect(await fileStore.store.usage('2027-03-01', '2027-03-01')).toEqual(usage);
  });

  it('answers the admin tenant read 200 (it was 500)', async () => {
    const node = await startNode({ store: pgStore.store, clock: new FakeClock(TEST_NOW).now });
    try {
      const res = await fetch(`${node.app.url}/v1/admin/tenants/dmy-acme`, {
        headers: { authorization: `Bearer ${adminToken(TEST_ADMIN_SECRET, TEST_NOW)}` },
      });
      const body = (await res.json()) as { timeline: { periods: { start: string }[] } };
      expect(res.status).toBe(200);
      expect(body.timeline.periods[0]?.start).toBe('2027-02-01');
    } finally {
      await node.close();
    }
  });
});

describe('inputs PostgreSQL cannot hold', () => {
  const good: Order = { id: 'g-1', kind: 'initial', receivedAt: '2027-01-12T10:00:00+09:00', licenses: 3 };
  const cases: [string, { tenant: string; orders: unknown[] }, RegExp][] = [
    ['an order id with NUL', { tenant: 'edge-a', orders: [{ ...good, id: 'a\u0000b' }] }, /orders\[0\]\.id/],
    [
      'licenses of 2^31',
      { tenant: 'edge-b', orders: [{ ...good, licenses: 2 ** 31 }] },
      /orders\[0\]\.licenses/,
    ],
    [
      'a certificate dated year 0000',
      { tenant: 'edge-c', orders: [{ ...good, certificate: { start: '0000-01-01', end: '2027-12-31' } }] },
      /orders\[0\]\.certificate\.start/,
    ],
    [
      'a receipt in year 0000',
      { tenant: 'edge-d', orders: [{ ...good, receivedAt: '0000-06-01T00:00:00Z' }] },
      /orders\[0\]\.receivedAt/,
    ],
    ['tenant id .', { tenant: '.', orders: [good] }, /^invalid order history: tenant: /],
    ['tenant id ..', { tenant: '..', orders: [good] }, /^invalid order history: tenant: /],
  ];

  let nodes: TestNode[] = [];
  beforeAll(async () => {
    nodes = [
      await startNode({ store: pgStore.store, clock: new FakeClock(TEST_NOW).now }),
      await startNode({ store: fileStore.store, clock: new FakeClock(TEST_NOW).now }),
    ];
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it.each(cases)(
    'refuses %s with 400 invalid_request naming the field, on both stores',
    async (_what, history, field) => {
      for (const node of nodes) {
        const res = await fetch(`${node.app.url}/v1/admin/orders`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${adminToken(TEST_ADMIN_SECRET, TEST_NOW)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(history),
        });
        const body = (await res.json()) as { error: string; message: string };
        expect(res.status).toBe(400);
        expect(body.error).toBe('invalid_request');
        expect(body.message).toMatch(field);
      }
    },
  );

  it.each(cases)('refuses %s in both stores directly, with the same error', async (_what, history) => {
    const pgAnswer = await outcome(pgStore.store, history.tenant, history.orders as Order[]);
    expect(pgAnswer.error?.name).toBe('OrderHistoryError');
    expect(await outcome(fileStore.store, history.tenant, history.orders as Order[])).toEqual(pgAnswer);
  });

  it('refuses a tenant name with NUL and a tenant path of . or .. with 400', async () => {
    const res = await fetch(`${nodes[0]!.app.url}/v1/admin/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${adminToken(TEST_ADMIN_SECRET, TEST_NOW)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ tenant: 'edge-n', name: 'a\u0000b', orders: [good] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^name: /);
    // Raw paths: fetch would resolve the dot-segments itself before sending.
    const port = new URL(nodes[0]!.app.url).port;
    for (const path of ['%2E', '%2E%2E']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: `/v1/admin/tenants/${path}`,
            headers: { authorization: `Bearer ${adminToken(TEST_ADMIN_SECRET, TEST_NOW)}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status, path).toBe(400);
    }
  });
});

// Dates from year 0000 to 9999 and around the accepted range's ends, in any offset.
const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, '0');
const dateText = fc
  .record({
    y: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1969, 1970, 2027, 9999)),
    m: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 31 }),
  })
  .map(({ y, m, d }) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
const instantText = fc
  .record({
    date: dateText,
    h: fc.integer({ min: 0, max: 23 }),
    mi: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    ms: fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
    offset: fc.oneof(fc.constant('Z'), fc.integer({ min: -14 * 60, max: 14 * 60 })),
  })
  .map(({ date, h, mi, s, ms, offset }) => {
    const fraction = ms === undefined ? '' : `.${pad(ms, 3)}`;
    const zone =
      offset === 'Z'
        ? 'Z'
        : `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60), 2)}:${pad(Math.abs(offset) % 60, 2)}`;
    return `${date}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction}${zone}`;
  });
const orderArb: fc.Arbitrary<Order> = fc.record(
  {
    id: fc.oneof(
      { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
      { weight: 1, arbitrary: fc.constantFrom('a\u0000b', '\ud800', 'x'.repeat(201), '', 'tab\there') },
    ),
    kind: fc.constantFrom('initial', 'renewal', 'recontinuation', 'additional'),
    receivedAt: fc.oneof(
      { weight: 4, arbitrary: instantText },
      { weight: 1, arbitrary: fc.constantFrom('2027-01-01T00:00:00', '0000-01-01T00:00:00Z') },
    ),
    licenses: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 500 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 1_000_000, 1_000_001, 2 ** 31 - 1, 2 ** 31, 1.5) },
    ),
    certificate: fc.record({ start: dateText, end: dateText }),
  },
  { requiredKeys: ['id', 'kind', 'receivedAt', 'licenses'] },
) as fc.Arbitrary<Order>;

describe('property: the stores accept the same histories and read them back identically', () => {
  it('holds for random histories imported in one or two steps', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(orderArb, { maxLength: 5 }),
        fc.array(orderArb, { maxLength: 3 }),
        fc.constantFrom('p', 'p', 'p', '.', '..'),
        async (first, second, tenantKind) => {
          run++;
          const tenant = tenantKind === 'p' ? `prop-${run}` : tenantKind;
          for (const batch of [first, second]) {
            const fromPg = await outcome(pgStore.store, tenant, batch);
            const fromFile = await outcome(fileStore.store, tenant, batch);
            expect(fromPg).toEqual(fromFile);
          }
          if (tenantKind === 'p')
            expect(await readBack(pgStore.store, tenant)).toEqual(await readBack(fileStore.store, tenant));
        },
      ),
      { numRuns: 150, seed: 15_5 },
    );
  }, 120_000);
});
