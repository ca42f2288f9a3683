// The usage report (issue 6) on its public surfaces: GET /v1/admin/usage (JSON and CSV, each
// response validated against the OpenAPI document) and `icegate usage`, over the file store and
// PostgreSQL (fresh schema), with real Redis (own key prefix) for the fleet's live view.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { EXIT_FAILURE, runCli } from '../../src/cli/program.js';
import { createEntitlementRuntime } from '../../src/entitlement/service/index.js';
import { type EntitlementStore, openStore, type UsageRow } from '../../src/entitlement/store/index.js';
import { type UsageAccountant, usageAccountantFor } from '../../src/usage/index.js';
import {
  adminToken,
  assertMatchesOpenApi,
  CapturingLogger,
  deleteRedisPrefix,
  dropSchema,
  FakeClock,
  fileTestStore,
  freshSchemaName,
  pgTestStore,
  requirePostgres,
  requireRedis,
  startNode,
  TEST_ADMIN_SECRET,
  TEST_DATABASE_URL,
  TEST_NOW,
  TEST_REDIS_URL,
  type TestStore,
  uniquePrefix,
} from './http-harness.js';

// TEST_NOW is 2027-05-25 12:00 JST.
const TODAY = '2027-05-25';
const YESTERDAY = '2027-05-24';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A node: HTTP app over `store`, with a usage accountant on the node's Redis connection. */
async function usageNode(store: EntitlementStore, redisPrefix: string, withAccountant = true) {
  const clock = new FakeClock(TEST_NOW);
  const logger = new CapturingLogger();
  const runtime = createEntitlementRuntime({ store, logger, redisUrl: TEST_REDIS_URL, redisPrefix });
  await runtime.waitForRedis(3_000);
  const usage = usageAccountantFor(runtime, { store, logger, clock: clock.now, liveIntervalMs: 60_000 });
  const node = await startNode({
    store,
    clock: clock.now,
    redisUrl: TEST_REDIS_URL,
    redisPrefix,
    ...(withAccountant ? { http: { usage } } : {}),
  });
  cleanups.push(async () => {
    await node.close();
    await usage.close();
    await runtime.close();
  });
  return { node, usage, token: adminToken(TEST_ADMIN_SECRET, TEST_NOW) };
}

function count(
  usage: UsageAccountant,
  tenant: string,
  bytes: number,
  seconds: number,
  atMs = TEST_NOW,
): void {
  usage.addTraffic(tenant, bytes, atMs);
  usage.addAllocationTime(tenant, seconds, atMs);
}

async function get(url: string, token: string | null) {
  const res = await fetch(url, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.startsWith('application/json') ? await res.json() : await res.text();
  return { res, body };
}

const STORES: [string, () => Promise<TestStore>][] = [
  ['file store', fileTestStore],
  ['PostgreSQL', pgTestStore],
];

describe.each(STORES)('GET /v1/admin/usage over the %s', (_name, openTestStore) => {
  async function setup() {
    await requireRedis();
    const s = await openTestStore();
    cleanups.push(() => s.dispose());
    const p = uniquePrefix();
    cleanups.push(() => deleteRedisPrefix(p));
    return { s, p };
  }

  it("answers JSON with per-day rows and totals, this node's counts flushed first", async () => {
    const { s, p } = await setup();
    const { node, usage, token } = await usageNode(s.store, p);
    count(usage, 'acme', 1000, 60, TEST_NOW - 86_400_000);
    count(usage, 'acme', 24, 3);
    count(usage, 'beta', 5, 1.2);
    const { res, body } = await get(`${node.app.url}/v1/admin/usage?from=${YESTERDAY}&to=${TODAY}`, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('icegate-usage-source')).toBe('store');
    assertMatchesOpenApi('/v1/admin/usage', 'get', 200, body);
    expect(body).toEqual({
      from: YESTERDAY,
      to: TODAY,
      source: 'store',
      rows: [
        { day: YESTERDAY, tenant: 'acme', bytesRelayed: 1000, allocationSeconds: 60 },
        { day: TODAY, tenant: 'acme', bytesRelayed: 24, allocationSeconds: 3 },
        { day: TODAY, tenant: 'beta', bytesRelayed: 5, allocationSeconds: 1 },
      ],
      totals: [
        { tenant: 'acme', bytesRelayed: 1024, allocationSeconds: 63 },
        { tenant: 'beta', bytesRelayed: 5, allocationSeconds: 1 },
      ],
    });
    // The report flushed: the store holds the same numbers.
    expect(await s.store.usage(YESTERDAY, TODAY)).toHaveLength(3);
  });

  it('answers CSV with format=csv', async () => {
    const { s, p } = await setup();
    const { node, usage, token } = await usageNode(s.store, p);
    count(usage, 'acme', 2048, 120);
    const { res, body } = await get(
      `${node.app.url}/v1/admin/usage?from=${TODAY}&to=${TODAY}&format=csv`,
      token,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="icegate-usage-${TODAY}-${TODAY}.csv"`,
    );
    assertMatchesOpenApi('/v1/admin/usage', 'get', 200, body, 'text/csv');
    expect(() => assertMatchesOpenApi('/v1/admin/usage', 'get', 200, 'tenant,day\n', 'text/csv')).toThrow();
    expect(body).toBe(`day,tenant,bytes_relayed,allocation_seconds\r\n${TODAY},acme,2048,120\r\n`);
  });

  it("shows another node's unflushed counts with source=live (Redis), and only the store's without", async () => {
    const { s, p } = await setup();
    const a = await usageNode(s.store, p);
    const b = await usageNode(await s.openAnother(), p);
    count(a.usage, 'acme', 4096, 30);
    expect(await a.usage.pushLive()).toBe(true);
    const url = `${b.node.app.url}/v1/admin/usage?from=${TODAY}&to=${TODAY}`;
    const stored = await get(url, b.token);
    expect((stored.body as { rows: UsageRow[] }).rows).toEqual([]);
    const live = await get(`${url}&source=live`, b.token);
    expect(live.res.headers.get('icegate-usage-source')).toBe('live');
    assertMatchesOpenApi('/v1/admin/usage', 'get', 200, live.body);
    expect(live.body).toMatchObject({
      source: 'live',
      rows: [{ day: TODAY, tenant: 'acme', bytesRelayed: 4096, allocationSeconds: 30 }],
    });
  });

  it('reads the store alone when the app has no accountant', async () => {
    const { s, p } = await setup();
    await s.store.addUsage([{ tenant: 'acme', day: TODAY, bytesRelayed: 9, allocationSeconds: 9 }]);
    const { node, token } = await usageNode(s.store, p, false);
    const { body } = await get(`${node.app.url}/v1/admin/usage?from=${TODAY}&to=${TODAY}&source=live`, token);
    expect(body).toMatchObject({ source: 'store', rows: [{ tenant: 'acme', bytesRelayed: 9 }] });
  });

  it('refuses bad ranges and options with invalid_request, and callers without an admin token', async () => {
    const { s, p } = await setup();
    const { node, token } = await usageNode(s.store, p);
    const base = `${node.app.url}/v1/admin/usage`;
    for (const query of [
      '',
      `?from=${TODAY}`,
      `?from=2027-02-30&to=${TODAY}`,
      `?from=${TODAY}&to=${YESTERDAY}`,
      '?from=2026-01-01&to=2027-01-02',
      `?from=${TODAY}&to=${TODAY}&to=${TODAY}`,
      `?from=${TODAY}&to=${TODAY}&format=xml`,
      `?from=${TODAY}&to=${TODAY}&source=redis`,
    ]) {
      const { res, body } = await get(`${base}${query}`, token);
      expect(res.status, query).toBe(400);
      expect((body as { error: string }).error).toBe('invalid_request');
      assertMatchesOpenApi('/v1/admin/usage', 'get', 400, body);
    }
    const anonymous = await get(`${base}?from=${TODAY}&to=${TODAY}`, null);
    expect(anonymous.res.status).toBe(401);
    assertMatchesOpenApi('/v1/admin/usage', 'get', 401, anonymous.body);
    const tenantScoped = await get(
      `${base}?from=${TODAY}&to=${TODAY}`,
      adminToken(TEST_ADMIN_SECRET, TEST_NOW, { scope: 'tenant' }),
    );
    expect(tenantScoped.res.status).toBe(403);
  });
});

// --- icegate usage ---

function cliIo(env: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env,
  };
  return { io, out };
}

const ROWS: UsageRow[] = [
  { tenant: 'acme', day: YESTERDAY, bytesRelayed: 1000, allocationSeconds: 60 },
  { tenant: 'acme', day: TODAY, bytesRelayed: 24, allocationSeconds: 3 },
  { tenant: 'beta', day: TODAY, bytesRelayed: 5, allocationSeconds: 1 },
];

async function cliEnvironments(): Promise<[string, Record<string, string>][]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'icegate-usage-cli-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  await requirePostgres();
  const schema = freshSchemaName('test_usage_cli');
  cleanups.push(() => dropSchema(schema));
  const envs: [string, Record<string, string>][] = [
    ['file store', { DATA_DIR: dataDir }],
    ['PostgreSQL', { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema }],
  ];
  for (const [, env] of envs) {
    const store = await openStore({
      dataDir: env['DATA_DIR'] ?? dataDir,
      ...(env['DATABASE_URL'] ? { databaseUrl: env['DATABASE_URL'], pgSchema: schema } : {}),
    });
    await store.addUsage(ROWS);
    await store.close();
  }
  return envs;
}

describe('icegate usage', () => {
  it('prints the report as JSON and as CSV from either store', async () => {
    for (const [name, env] of await cliEnvironments()) {
      const json = cliIo(env);
      expect(await runCli(['usage', '--from', YESTERDAY, '--to', TODAY], json.io), name).toBe(0);
      expect(JSON.parse(json.out.stdout), name).toEqual({
        from: YESTERDAY,
        to: TODAY,
        source: 'store',
        rows: ROWS.map((r) => ({
          day: r.day,
          tenant: r.tenant,
          bytesRelayed: r.bytesRelayed,
          allocationSeconds: r.allocationSeconds,
        })),
        totals: [
          { tenant: 'acme', bytesRelayed: 1024, allocationSeconds: 63 },
          { tenant: 'beta', bytesRelayed: 5, allocationSeconds: 1 },
        ],
      });
      const csv = cliIo(env);
      expect(await runCli(['usage', '--from', TODAY, '--to', TODAY, '--format', 'csv'], csv.io), name).toBe(
        0,
      );
      expect(csv.out.stdout, name).toBe(
        `day,tenant,bytes_relayed,allocation_seconds\r\n${TODAY},acme,24,3\r\n${TODAY},beta,5,1\r\n`,
      );
    }
  });

  it('fails with a coded message for a bad range or format', async () => {
    const [[, env]] = (await cliEnvironments()) as [[string, Record<string, string>]];
    const reversed = cliIo(env);
    expect(await runCli(['usage', '--from', TODAY, '--to', YESTERDAY], reversed.io)).toBe(EXIT_FAILURE);
    expect(reversed.out.stderr).toMatch(/^icegate: invalid_usage_range: from \(2027-05-25\) is after to/);
    const format = cliIo(env);
    expect(await runCli(['usage', '--from', TODAY, '--format', 'xml'], format.io)).toBe(EXIT_FAILURE);
    expect(format.out.stderr).toMatch(/invalid_format: --format must be json or csv/);
    expect(format.out.stdout).toBe('');
  });
});
