// Shared pieces of the HTTP and entitlement-cache integration tests: real Redis and PostgreSQL
// (a fresh key prefix or schema per test; an unreachable server fails with how to start it),
// a TCP proxy that can cut a service off and restore it, a fake clock, a capturing logger,
// JWT helpers, a running app on an ephemeral loopback port, and an OpenAPI response validator.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Application } from 'express';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { SecretRing } from '../../src/auth/index.js';
import { cacheMetricsFrom } from '../../src/entitlement/cache/index.js';
import { createEntitlementRuntime, type EntitlementRuntime } from '../../src/entitlement/service/index.js';
import { type EntitlementStore, openFileStore, openPgStore } from '../../src/entitlement/store/index.js';
import type { Order } from '../../src/entitlement/types.js';
import {
  ADMIN_TOKEN_AUDIENCE,
  ADMIN_TOKEN_ISSUER,
  createHttpApp,
  type HttpAppDeps,
  Readiness,
  type RelayAllocationSummary,
  type RelayControl,
  rateLimiterFor,
  type TurnListener,
} from '../../src/http/index.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { LicenseService } from '../../src/licensing/index.js';
import { NoisyAudit } from '../../src/licensing/noisy-audit.js';
import type { Logger } from '../../src/log/logger.js';
import { createMetrics, type IcegateMetrics } from '../../src/metrics/metrics.js';
import { dropSchema, freshSchemaName, requirePostgres, TEST_DATABASE_URL } from './store-pg-harness.js';

export { dropSchema, freshSchemaName, requirePostgres, TEST_DATABASE_URL };

/** The test Redis; override with TEST_REDIS_URL. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Throws, naming how to start Redis, unless TEST_REDIS_URL answers PING. */
export async function requireRedis(): Promise<void> {
  const client = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(
      `Redis at ${TEST_REDIS_URL} is not reachable (${(err as Error).message}); start it with ` +
        '`redis-server --daemonize yes` (Debian package redis-server) or set TEST_REDIS_URL',
    );
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `icegate-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A store for one test: PostgreSQL in a fresh schema, or the embedded file store in a temp dir. */
export interface TestStore {
  store: EntitlementStore;
  /** Opens another connection to the same data (a second node). */
  openAnother(): Promise<EntitlementStore>;
  dispose(): Promise<void>;
}

/** PostgreSQL in a fresh schema (fails with how to start PostgreSQL when it is down). */
export async function pgTestStore(databaseUrl = TEST_DATABASE_URL): Promise<TestStore> {
  await requirePostgres();
  const schema = freshSchemaName('test_http');
  const opened: EntitlementStore[] = [];
  const open = async (url = databaseUrl) => {
    const s = await openPgStore({ databaseUrl: url, schema, poolMax: 4 });
    opened.push(s);
    return s;
  };
  const store = await open();
  return {
    store,
    openAnother: () => open(),
    async dispose() {
      for (const s of opened) await s.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
}

/** The embedded file store in a fresh temporary directory. */
export async function fileTestStore(): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'icegate-http-'));
  const opened: EntitlementStore[] = [];
  const open = async () => {
    const s = await openFileStore({ dataDir });
    opened.push(s);
    return s;
  };
  const store = await open();
  return {
    store,
    openAnother: open,
    async dispose() {
      for (const s of opened) await s.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** One captured log line. */
export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps every line (children share the list), for "logged once" assertions. */
export class CapturingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly base: Record<string, unknown> = {},
  ) {}
  #add(level: LogLine['level'], message: string, fields?: Record<string, unknown>) {
    this.lines.push({ level, message, fields: { ...this.base, ...fields } });
  }
  error(message: string, fields?: Record<string, unknown>) {
    this.#add('error', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>) {
    this.#add('warn', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>) {
    this.#add('info', message, fields);
  }
  debug(message: string, fields?: Record<string, unknown>) {
    this.#add('debug', message, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.base, ...fields });
  }
  /** Lines whose message contains `text`. */
  matching(text: string): LogLine[] {
    return this.lines.filter((l) => l.message.includes(text));
  }
}

/** A TcpProxy to the server `url` names (its host, and its port or `defaultPort`). */
export function proxyFor(url: string, defaultPort: number): TcpProxy {
  const target = new URL(url);
  return new TcpProxy(target.hostname.replace(/^\[|\]$/g, ''), Number(target.port || defaultPort));
}

/** `url` through `proxy`: its host and port replaced, its user, password and database kept. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}

/**
 * A TCP proxy in front of a real service on loopback. `cut()` refuses new connections and drops
 * open ones (the service looks down); `restore()` listens again on the same port.
 */
export class TcpProxy {
  #server: net.Server | null = null;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    await this.#listen(this.port);
  }

  async #listen(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** The service becomes unreachable through the proxy. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The service is reachable again, on the same port. */
  async restore(): Promise<void> {
    await this.#listen(this.port);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** Wraps a store and counts reads, optionally failing them (a store that went away). */
export function countingStore<S extends EntitlementStore>(
  inner: S,
): { store: EntitlementStore; calls: { orderHistory: number; getKey: number }; fail: { on: boolean } } {
  const calls = { orderHistory: 0, getKey: 0 };
  const fail = { on: false };
  const store = Object.create(inner) as EntitlementStore;
  Object.assign(store, {
    orderHistory: async (tenant: string) => {
      calls.orderHistory++;
      if (fail.on) throw new Error('store down (test)');
      return inner.orderHistory(tenant);
    },
    getKey: async (keyId: string) => {
      calls.getKey++;
      if (fail.on) throw new Error('store down (test)');
      return inner.getKey(keyId);
    },
  });
  return { store, calls, fail };
}

/** Signs a tenant JWT with a license key text `<keyId>.<secret>` (as desknet's NEO would). */
export function tenantToken(
  licenseKey: string,
  nowMs: number,
  claims: Record<string, unknown> = {},
  options: { expiresInSeconds?: number | null } = {},
): string {
  const dot = licenseKey.indexOf('.');
  const keyId = licenseKey.slice(0, dot);
  const secret = licenseKey.slice(dot + 1);
  const payload: Record<string, unknown> = { iat: Math.floor(nowMs / 1000), ...claims };
  const expiresIn = options.expiresInSeconds === undefined ? 300 : options.expiresInSeconds;
  if (expiresIn !== null) payload.exp = Math.floor(nowMs / 1000) + expiresIn;
  return jwt.sign(payload, secret, { algorithm: 'HS256', keyid: keyId, noTimestamp: true });
}

/** An unsigned token (`alg: none`) naming `keyId`. */
export function unsignedToken(keyId: string, nowMs: number): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT', kid: keyId })}.${enc({ exp: Math.floor(nowMs / 1000) + 300 })}.`;
}

/** An admin JWT. */
export function adminToken(
  secret: string,
  nowMs: number,
  claims: Record<string, unknown> = { scope: 'admin' },
): string {
  const payload: Record<string, unknown> = {
    exp: Math.floor(nowMs / 1000) + 600,
    iss: ADMIN_TOKEN_ISSUER,
    aud: ADMIN_TOKEN_AUDIENCE,
    ...claims,
  };
  for (const name of ['exp', 'iss', 'aud']) if (payload[name] === undefined) delete payload[name];
  return jwt.sign(payload, secret, { algorithm: 'HS256', noTimestamp: payload.iat === undefined });
}

/** An app listening on an ephemeral loopback port. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0. */
export async function listen(app: Application): Promise<RunningApp> {
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The listeners the tests advertise. */
export const TEST_LISTENERS: TurnListener[] = [
  { transport: 'udp', host: '127.0.0.1', port: 3478 },
  { transport: 'tcp', host: '127.0.0.1', port: 3478 },
  { transport: 'tls', host: 'localhost', port: 5349 },
];

/** A RelayControl that records calls. */
export class FakeRelay implements RelayControl {
  readonly closed: { tenant: string; reason: string }[] = [];
  allocations: RelayAllocationSummary[] = [];
  listAllocations(tenant?: string): RelayAllocationSummary[] {
    return this.allocations.filter((a) => tenant === undefined || a.tenant === tenant);
  }
  closeAllocationsOfTenant(tenant: string, reason: string): number {
    this.closed.push({ tenant, reason });
    const before = this.allocations.length;
    this.allocations = this.allocations.filter((a) => a.tenant !== tenant);
    return before - this.allocations.length;
  }
}

/** The TURN secret and admin secret of test nodes. */
export const TEST_TURN_SECRET = 'test-turn-secret-0123456789abcdef';
export const TEST_ADMIN_SECRET = 'test-admin-secret-0123456789abcdef0123';

/** One icegate HTTP node over a store: entitlement runtime, license service, running app. */
export interface TestNode {
  runtime: EntitlementRuntime;
  metrics: IcegateMetrics;
  licenses: LicenseService;
  relay: FakeRelay;
  readiness: Readiness;
  logger: CapturingLogger;
  /** The aggregated audit of revoked-key refusals and replays (15-minute windows on the node's clock). */
  noisyAudit: NoisyAudit;
  app: RunningApp;
  close(): Promise<void>;
}

/** Options of a test node. */
export interface TestNodeOptions {
  store: EntitlementStore;
  clock: () => number;
  redisUrl?: string;
  redisPrefix?: string;
  graceDays?: number;
  /** How long to wait for Redis before serving (default 3 s). */
  waitForRedisMs?: number;
  http?: Partial<HttpAppDeps>;
}

/** Starts one node: the wiring src/main.ts does, minus the relay. */
export async function startNode(options: TestNodeOptions): Promise<TestNode> {
  const logger = new CapturingLogger();
  const metrics = createMetrics({ defaultMetrics: false });
  const runtime = createEntitlementRuntime({
    store: options.store,
    logger,
    metrics: cacheMetricsFrom(metrics, options.store.kind),
    clock: options.clock,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
    ...(options.graceDays !== undefined ? { graceDays: options.graceDays } : {}),
  });
  // A down Redis (some tests point at one) answers false here; the node runs on the store alone.
  await runtime.waitForRedis(options.redisUrl === undefined ? 0 : (options.waitForRedisMs ?? 3_000));
  const licenses = new LicenseService(options.store, { graceDays: options.graceDays ?? 0 });
  const relay = new FakeRelay();
  const readiness = new Readiness();
  readiness.markReady();
  const noisyAudit = new NoisyAudit({ store: options.store, clock: options.clock });
  const app = createHttpApp({
    config: {
      CREDENTIAL_TTL_MAX: 86_400,
      CORS_ORIGINS: ['https://app.example.jp'],
      ADMIN_TOKEN_SECRET: TEST_ADMIN_SECRET,
    },
    logger,
    metrics,
    entitlements: runtime.service,
    keys: runtime.keys,
    licenses,
    store: options.store,
    noisyAudit,
    events: runtime.events,
    ring: new SecretRing([TEST_TURN_SECRET]),
    relay,
    listeners: TEST_LISTENERS,
    readiness,
    rateLimiter: rateLimiterFor(runtime),
    clock: options.clock,
    ...options.http,
  });
  const running = await listen(app);
  return {
    runtime,
    metrics,
    licenses,
    relay,
    readiness,
    logger,
    noisyAudit,
    app: running,
    async close() {
      await running.close();
      await noisyAudit.close().catch(() => undefined);
      await runtime.close();
    },
  };
}

/** The value of one series of a counter in `metrics`. */
export async function counterValue(
  metrics: IcegateMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes; answers the elapsed ms. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

// --- OpenAPI validation of real responses ---

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(openApiDocument as unknown as object, 'openapi.json');

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
}

/**
 * Validates a real response body against the OpenAPI operation's schema for its status and
 * content type; throws listing every mismatch (or a missing operation or response).
 */
export function assertMatchesOpenApi(
  pathTemplate: string,
  method: string,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const paths = openApiDocument.paths as Record<
    string,
    Record<string, { responses: Record<string, unknown> }>
  >;
  const operation = paths[pathTemplate]?.[method.toLowerCase()];
  if (operation === undefined) throw new Error(`OpenAPI has no operation ${method} ${pathTemplate}`);
  if (operation.responses[String(status)] === undefined) {
    throw new Error(`OpenAPI ${method} ${pathTemplate} documents no ${status} response`);
  }
  const ref = `openapi.json#/${pointer('paths', pathTemplate, method.toLowerCase(), 'responses', String(status), 'content', contentType, 'schema')}`;
  const validate = ajv.getSchema(ref);
  if (validate === undefined)
    throw new Error(`OpenAPI ${method} ${pathTemplate} ${status} has no ${contentType} schema`);
  if (!validate(body)) {
    throw new Error(
      `response of ${method} ${pathTemplate} (${status}) does not match OpenAPI: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
  }
}

// --- orders used across the tests (fake now: 2027-05-25 12:00 JST) ---

/** 2027-05-25T12:00:00+09:00. */
export const TEST_NOW = Date.parse('2027-05-25T03:00:00Z');

/** Active through 2027-11-30. */
export const ACTIVE_ORDERS: Order[] = [
  { id: 'a-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
];
/** Ended 2026-01-31: expired. */
export const EXPIRED_ORDERS: Order[] = [
  { id: 'e-1', kind: 'initial', receivedAt: '2025-01-10T10:00:00+09:00', licenses: 5 },
];
/** Ended 2026-05-31; renewed 2027-05-20 for a period from 2027-06-01: not started. */
export const NOT_STARTED_ORDERS: Order[] = [
  { id: 'n-1', kind: 'initial', receivedAt: '2025-06-01T10:00:00+09:00', licenses: 5 },
  { id: 'n-2', kind: 'renewal', receivedAt: '2027-05-20T10:00:00+09:00', licenses: 5 },
];
/** Ended 2027-04-30: in grace with 30 grace days. */
export const GRACE_ORDERS: Order[] = [
  { id: 'g-1', kind: 'initial', receivedAt: '2026-05-01T10:00:00+09:00', licenses: 7 },
];
/** Support certified through today, 2027-05-25. */
export const LAST_DAY_ORDERS: Order[] = [
  {
    id: 'l-1',
    kind: 'initial',
    receivedAt: '2026-05-26T10:00:00+09:00',
    licenses: 3,
    certificate: { start: '2026-05-26', end: '2027-05-25' },
  },
];
/** Only a rejected order: the tenant exists but has no support at all (state none). */
export const NONE_ORDERS: Order[] = [
  { id: 'x-1', kind: 'renewal', receivedAt: '2027-01-10T10:00:00+09:00', licenses: 1 },
];

/** Imports `orders` for `tenant` and issues a key; answers the license key text. */
export async function tenantWithKey(
  store: EntitlementStore,
  licenses: LicenseService,
  tenant: string,
  orders: Order[],
  now = TEST_NOW,
): Promise<string> {
  await store.importOrders(tenant, orders, { now: new Date(now) });
  const { issued } = await licenses.issue(tenant, `neo.${tenant}.example.jp`, new Date(now));
  return issued.reveal();
}
