// Shared pieces of the gate tests (issue 4): whole icegate nodes (startIcegate) on loopback over
// the real PostgreSQL and Redis of this machine (a fresh schema and key prefix per test file,
// shared by the nodes of one fleet), order histories placed around the real current time, and
// small clients for the admin API and the credential endpoint.
import { type ChildProcess, spawn } from 'node:child_process';
import { mintCredential, SecretRing } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { addDays, entitlementAt, jstDateOf } from '../../src/entitlement/rules/index.js';
import type { EntitlementState, Order } from '../../src/entitlement/types.js';
import { credentialOpaque } from '../../src/http/index.js';
import type { Logger } from '../../src/log/logger.js';
import { type Icegate, type StartOptions, startIcegate } from '../../src/main.js';
import type { PortBlock } from '../helpers/ports.js';
import {
  adminToken,
  CapturingLogger,
  deleteRedisPrefix,
  dropSchema,
  freshSchemaName,
  requirePostgres,
  requireRedis,
  TEST_ADMIN_SECRET,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  TEST_TURN_SECRET,
  tenantToken,
  uniquePrefix,
} from './http-harness.js';

export { adminToken, CapturingLogger, TEST_ADMIN_SECRET, TEST_TURN_SECRET, tenantToken };

const DAY_MS = 86_400_000;

/** A running node and what the tests read from it. */
export interface GateNode {
  node: Icegate;
  logger: CapturingLogger;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT` of the metrics listener (METRICS_PORT) */
  metricsUrl: string;
  turnPort: number;
  close(): Promise<void>;
}

/** Starts a whole node on 127.0.0.1 with ephemeral TURN and HTTP ports and relays in `ports`. */
export async function startGateNode(
  ports: PortBlock,
  env: Record<string, string>,
  options: Omit<StartOptions, 'logger'> & { logger?: Logger } = {},
): Promise<GateNode> {
  const config = {
    ...loadConfig({
      TURN_LISTEN_IP: '127.0.0.1',
      HTTP_LISTEN_IP: '127.0.0.1',
      METRICS_LISTEN_IP: '127.0.0.1',
      TURN_MIN_PORT: String(ports.relayMin),
      TURN_MAX_PORT: String(ports.relayMax),
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      LOG_LEVEL: 'error',
      ...env,
    }),
    // The schema refuses port 0; a test node takes ephemeral ports.
    TURN_PORT: 0,
    HTTP_PORT: 0,
    METRICS_PORT: 0,
  };
  const logger = new CapturingLogger();
  const node = await startOnEphemeralPorts(config, {
    // Every request of a test comes from 127.0.0.1; the limits have their own tests.
    rateLimits: { perIp: { limit: 100_000, windowMs: 60_000 } },
    ...options,
    logger: options.logger ?? logger,
  });
  return {
    node,
    logger,
    url: `http://127.0.0.1:${node.httpPort()}`,
    metricsUrl: `http://127.0.0.1:${node.metricsPort()}`,
    turnPort: node.turnAddress().port,
    close: () => node.close(),
  };
}

/**
 * startIcegate for a config with TURN_PORT 0: the UDP listener takes an ephemeral port and TCP must
 * then get the same number, which another socket on the machine may hold at that moment; a node
 * that could not listen (startIcegate closes what it opened) is started again, up to five times.
 */
export async function startOnEphemeralPorts(
  config: Parameters<typeof startIcegate>[0],
  options: Parameters<typeof startIcegate>[1],
): Promise<Icegate> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startIcegate(config, options);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ICEGATE_TRANSPORT_LISTEN_FAILED' || attempt >= 5) throw err;
    }
  }
}

/** A fresh PostgreSQL schema and Redis prefix that the nodes of one test file share. */
export interface SharedServices {
  schema: string;
  redisPrefix: string;
  /** Environment of a fleet node: DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, secrets. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/** Checks PostgreSQL and Redis answer (failing with how to start them) and makes a fresh schema and prefix. */
export async function sharedServices(
  urls: { databaseUrl?: string; redisUrl?: string } = {},
): Promise<SharedServices> {
  await requirePostgres();
  await requireRedis();
  const schema = freshSchemaName('test_gate');
  const redisPrefix = uniquePrefix();
  return {
    schema,
    redisPrefix,
    env: {
      DATABASE_URL: urls.databaseUrl ?? TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: urls.redisUrl ?? TEST_REDIS_URL,
      TURN_SECRETS: TEST_TURN_SECRET,
      ADMIN_TOKEN_SECRET: TEST_ADMIN_SECRET,
    },
    async dispose() {
      await dropSchema(schema).catch(() => undefined);
      await deleteRedisPrefix(redisPrefix).catch(() => undefined);
    },
  };
}

// --- order histories around the real current time ---

function ago(now: number, days: number): string {
  return new Date(now - days * DAY_MS).toISOString();
}

/** Orders of named shapes, placed relative to `now` (ms). */
export const ordersAt = {
  /** An initial order received 10 days ago: active for about a year. */
  active(now: number, licenses = 5): Order[] {
    return [{ id: 'active-1', kind: 'initial', receivedAt: ago(now, 10), licenses }];
  },
  /** An initial order received 1000 days ago: its year ended long ago. */
  expired(now: number): Order[] {
    return [{ id: 'expired-1', kind: 'initial', receivedAt: ago(now, 1000), licenses: 5 }];
  },
  /** Support that ended 10 days ago (a certificate fixes the dates): in grace with SUPPORT_GRACE_DAYS >= 11. */
  endedTenDaysAgo(now: number): Order[] {
    const today = jstDateOf(new Date(now));
    return [
      {
        id: 'grace-1',
        kind: 'initial',
        receivedAt: ago(now, 375),
        licenses: 5,
        certificate: { start: addDays(today, -375), end: addDays(today, -10) },
      },
    ];
  },
  /** Support that ended about 4 months ago, renewed an hour ago for a period starting in 20 days. */
  notStarted(now: number): Order[] {
    const today = jstDateOf(new Date(now));
    const start = addDays(today, 20);
    return [
      { id: 'late-1', kind: 'initial', receivedAt: ago(now, 500), licenses: 5 },
      {
        id: 'late-2',
        kind: 'renewal',
        receivedAt: new Date(now - 3_600_000).toISOString(),
        licenses: 5,
        certificate: { start, end: addDays(start, 364) },
      },
    ];
  },
  /**
   * An earlier initial order (received 1000 days ago) that, imported after `active`, becomes the
   * tenant's first order: the later initial is then rejected (already_initialised) and the
   * tenant's support ended long ago.
   */
  earlierInitial(now: number): Order[] {
    return [{ id: 'earlier-1', kind: 'initial', receivedAt: ago(now, 1000), licenses: 5 }];
  },
};

/** Throws unless `orders` give `state` at `now` (guards the fixtures against calendar edge cases). */
export function expectState(
  tenant: string,
  orders: Order[],
  now: number,
  state: EntitlementState,
  graceDays = 0,
): void {
  const got = entitlementAt({ tenant, orders }, new Date(now), { graceDays }).state;
  if (got !== state) {
    throw new Error(`fixture of ${tenant} gives ${got} at ${new Date(now).toISOString()}, expected ${state}`);
  }
}

// --- HTTP clients ---

/** A JSON response. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

async function json<T>(response: Response): Promise<JsonResponse<T>> {
  const text = await response.text();
  return {
    status: response.status,
    body: (text === '' ? {} : JSON.parse(text)) as T,
    headers: response.headers,
  };
}

/** Calls the admin API of `url` with a fresh admin token. */
export async function admin<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  secret = TEST_ADMIN_SECRET,
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken(secret, Date.now())}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return json<T>(
    await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** Imports `orders` for `tenant` through the admin API and issues its first key; answers the key text. */
export async function tenantWithKey(url: string, tenant: string, orders: Order[]): Promise<string> {
  const imported = await admin(url, 'POST', '/v1/admin/orders', { tenant, orders });
  if (imported.status !== 200)
    throw new Error(`import of ${tenant}: ${imported.status} ${JSON.stringify(imported.body)}`);
  const issued = await admin<{ key: string }>(url, 'POST', `/v1/admin/tenants/${tenant}/license-keys`, {
    server: `neo.${tenant}.example.jp`,
  });
  if (issued.status !== 201)
    throw new Error(`key of ${tenant}: ${issued.status} ${JSON.stringify(issued.body)}`);
  return issued.body.key;
}

/** The body of POST /v1/ice-servers. */
export interface IceServersBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  ttl: number;
  expiresAt: string;
}

/** A refusal's body, `{error, message}`. */
export interface RefusalBody {
  error?: string;
  message?: string;
}

/** POST /v1/ice-servers with `token`. */
export async function iceServers(
  url: string,
  token: string,
  body?: unknown,
): Promise<JsonResponse<IceServersBody & RefusalBody>> {
  return json<IceServersBody & RefusalBody>(
    await fetch(`${url}/v1/ice-servers`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** The TURN username and password of an ice-servers body. */
export function turnCredential(body: IceServersBody): { username: string; password: string } {
  const turn = body.iceServers.find((s) => s.username !== undefined);
  if (turn?.username === undefined || turn.credential === undefined)
    throw new Error('no TURN server in body');
  return { username: turn.username, password: turn.credential };
}

/** A token for `key` now (exp 5 minutes ahead) and the credential it buys from `url`. */
export async function credentialFor(
  url: string,
  key: string,
  claims: Record<string, unknown> = {},
): Promise<{ username: string; password: string }> {
  const answer = await iceServers(url, tenantToken(key, Date.now(), claims));
  if (answer.status !== 200) throw new Error(`ice-servers: ${answer.status} ${JSON.stringify(answer.body)}`);
  return turnCredential(answer.body);
}

/** The key id (`kid`) of a license key text. */
export function keyIdOf(key: string): string {
  return key.slice(0, key.indexOf('.'));
}

/** Polls `check` every `everyMs` (default 20) until true; answers the elapsed ms or throws after `timeoutMs`. */
export async function within(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A credential for `tenant` naming `keyId`, minted straight from the TURN secret the test nodes share. */
export function credentialFromSecret(tenant: string, keyId: string): { username: string; password: string } {
  const ring = new SecretRing([TEST_TURN_SECRET]);
  const minted = mintCredential(ring, {
    tenant,
    ttlSeconds: 600,
    now: Date.now(),
    opaque: credentialOpaque(ring, tenant, keyId),
  });
  return { username: minted.username, password: minted.password };
}

// --- coturn's tools ---

/** Starts turnutils_peer (a UDP echo peer) on 127.0.0.1:`port`; resolves once it had time to bind. */
export async function startEchoPeer(port: number): Promise<ChildProcess> {
  const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return peer;
}

/** What turnutils_uclient printed and its summary numbers. */
export interface UclientOutcome {
  code: number | null;
  output: string;
  lost: number;
  sent: number;
  received: number;
}

/**
 * Runs turnutils_uclient with a long-term username and password (`-u -w`, as a browser would
 * use the credential), relaying paced 160-byte messages over channels to the echo peer.
 */
export function uclientWithCredential(options: {
  username: string;
  password: string;
  turnPort: number;
  peerPort: number;
  clients?: number;
  messages?: number;
}): Promise<UclientOutcome> {
  const args = [
    ...['-u', options.username, '-w', options.password, '-e', '127.0.0.1', '-r', String(options.peerPort)],
    ...['-m', String(options.clients ?? 2), '-n', String(options.messages ?? 100), '-l', '160', '-z', '20'],
    ...['-X', '-c', '-p', String(options.turnPort), '127.0.0.1'],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lost = /Total lost packets (\d+)/.exec(output);
      const sent = [...output.matchAll(/tot_send_msgs=(\d+)/g)].at(-1);
      const received = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1);
      if (!lost || !sent || !received) {
        reject(new Error(`no summary in uclient output (exit ${code}):\n${output.slice(-3000)}`));
        return;
      }
      resolve({ code, output, lost: Number(lost[1]), sent: Number(sent[1]), received: Number(received[1]) });
    });
  });
}
