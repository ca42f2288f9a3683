// Logs an on-call person reads (issue 18 points 2 and 4), from a whole node over PostgreSQL and
// Redis with the real JSON logger: one access-log line per HTTP request with its request id (a
// sane incoming X-Request-Id is kept and echoed, anything else replaced), route template, status,
// duration and tenant, never a token; the id is carried into the lines the request causes; and
// allocations closed through the admin API end as admin_closed, in the metric and the log line.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  adminToken,
  credentialFor,
  type GateNode,
  ordersAt,
  type SharedServices,
  sharedServices,
  startGateNode,
  TEST_ADMIN_SECRET,
  tenantToken,
  tenantWithKey,
} from './gate-harness.js';
import { counterValue } from './http-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let services: SharedServices;
let gate: GateNode;
let key: string;
const raw: string[] = [];
const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  services = await sharedServices();
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') raw.push(line);
  });
  gate = await startGateNode(PORTS.observability, services.env, {
    redisPrefix: services.redisPrefix,
    logger: createLogger({ level: 'info', stream }),
  });
  key = await tenantWithKey(gate.url, 'acme', ordersAt.active(Date.now()));
});

afterAll(async () => {
  await gate?.close();
  await services?.dispose();
});

async function post(path: string, token: string, requestId?: string): Promise<Response> {
  return fetch(`${gate.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
    },
  });
}

function accessLine(requestId: string): Record<string, unknown> | undefined {
  return lines().find((l) => l.message === 'http request' && l.requestId === requestId);
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('access log and request ids', () => {
  it('logs one line per request with the id it was given, the route, status, duration and tenant, and no token', async () => {
    const token = tenantToken(key, Date.now());
    const response = await post('/v1/ice-servers', token, 'lb-7f3a.2');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('lb-7f3a.2');
    await settle();
    const matching = lines().filter((l) => l.requestId === 'lb-7f3a.2' && l.message === 'http request');
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({
      component: 'access',
      level: 'info',
      method: 'POST',
      route: '/v1/ice-servers',
      status: 200,
      tenant: 'acme',
    });
    expect(matching[0]!.durationMs).toBeTypeOf('number');
    const secret = key.slice(key.indexOf('.') + 1);
    for (const line of raw) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(secret);
    }
  });

  it('replaces an id that is too long or not visible ASCII, and makes one when none is sent', async () => {
    const token = tenantToken(key, Date.now());
    for (const bad of ['has space', 'x'.repeat(129), 'tab\there']) {
      const response = await post('/v1/ice-servers', token, bad);
      const id = response.headers.get('x-request-id') ?? '';
      expect(id).toMatch(UUID);
      await settle();
      expect(accessLine(id)?.status).toBe(200);
      expect(lines().some((l) => l.requestId === bad)).toBe(false);
    }
    const plain = await post('/v1/ice-servers', token);
    expect(plain.headers.get('x-request-id')).toMatch(UUID);
    const longest = await post('/v1/ice-servers', token, 'x'.repeat(128));
    expect(longest.headers.get('x-request-id')).toBe('x'.repeat(128));
  });

  it('logs refusals with their status and unmatched paths as one route, never the raw path', async () => {
    const refused = await post('/v1/ice-servers', 'not-a-jwt', 'refused-1');
    expect(refused.status).toBe(401);
    const missing = await fetch(`${gate.url}/v1/secret-path-with-id-123`, {
      headers: { 'x-request-id': 'nf-1' },
    });
    expect(missing.status).toBe(404);
    await settle();
    expect(accessLine('refused-1')).toMatchObject({ status: 401, route: '/v1/ice-servers' });
    expect(accessLine('refused-1')?.tenant).toBeUndefined();
    expect(accessLine('nf-1')).toMatchObject({ status: 404, route: 'unmatched' });
    expect(raw.some((l) => l.includes('secret-path-with-id-123'))).toBe(false);
  });
});

describe('allocations closed through the admin API', () => {
  it('end as admin_closed (not entitlement_revoked), with the request id in the lines the request caused', async () => {
    const credential = await credentialFor(gate.url, key);
    const client = await TurnClient.open({
      ...gate.node.turnAddress(),
      username: credential.username,
      password: credential.password,
    });
    try {
      expect((await client.allocate()).code).toBe(200);
      const response = await fetch(`${gate.url}/v1/admin/tenants/acme/allocations`, {
        method: 'DELETE',
        headers: {
          authorization: `Bearer ${adminToken(TEST_ADMIN_SECRET, Date.now())}`,
          'x-request-id': 'close-acme-1',
        },
      });
      expect(await response.json()).toMatchObject({ closed: 1 });
    } finally {
      await client.close();
    }
    await settle();
    const metrics = gate.node.metrics;
    const ended = (reason: string) =>
      counterValue(metrics, 'icegate_allocations_ended_total', { transport: 'udp', reason });
    expect(await ended('admin_closed')).toBe(1);
    expect(await ended('entitlement_revoked')).toBe(0);
    const caused = lines().filter((l) => l.requestId === 'close-acme-1');
    expect(caused.map((l) => l.message)).toEqual(
      expect.arrayContaining(['allocation ended', 'allocations closed by admin', 'http request']),
    );
    expect(caused.find((l) => l.message === 'allocation ended')).toMatchObject({
      tenant: 'acme',
      reason: 'admin_closed',
    });
    expect(accessLine('close-acme-1')).toMatchObject({
      route: '/v1/admin/tenants/:tenant/allocations',
      method: 'DELETE',
      tenant: 'acme',
      status: 200,
    });
  });
});
