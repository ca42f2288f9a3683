// What every answer of the credential routes carries, whichever layer runs it: CORS for allowed
// origins (refusals included, so a browser can read them), Cache-Control: no-store, helmet's
// headers and the request id; preflights answered by the CORS policy alone.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretRing } from '../../../src/auth/index.js';
import { LocalTenantEvents } from '../../../src/entitlement/cache/index.js';
import type { EntitlementStore } from '../../../src/entitlement/store/index.js';
import { createHttpApp, Readiness } from '../../../src/http/index.js';
import type { LicenseService } from '../../../src/licensing/index.js';
import { silentLogger } from '../../../src/log/logger.js';

const ORIGIN = 'https://app.example';
let server: Server;
let base = '';
beforeAll(async () => {
  const app = createHttpApp({
    config: { CREDENTIAL_TTL_MAX: 3600, CORS_ORIGINS: [ORIGIN] },
    logger: silentLogger,
    entitlements: {
      get: async () => ({
        tenant: 't',
        active: false,
        state: 'none',
        licenses: 0,
        until: null,
        expiresAt: new Date(),
      }),
    },
    keys: { lookup: async () => null },
    licenses: {} as LicenseService,
    store: {} as EntitlementStore,
    events: new LocalTenantEvents(silentLogger),
    ring: new SecretRing(['0123456789abcdef']),
    relay: { listAllocations: () => [], closeAllocationsOfTenant: () => 0 },
    listeners: [{ transport: 'udp', host: '127.0.0.1', port: 3478 }],
    readiness: new Readiness(),
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (path: string, origin?: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: '{}',
  });

describe('the credential routes front', () => {
  it('answers a refusal with CORS for an allowed origin, no-store, helmet headers and the request id', async () => {
    for (const path of ['/v1/ice-servers', '/V1/Ice-Servers/']) {
      const res = await post(path, ORIGIN);
      expect(res.status).toBe(401);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/i);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toMatch(/./);
    }
    const turn = await fetch(`${base}/v1/turn-credentials?service=turn`, { headers: { origin: ORIGIN } });
    expect(turn.status).toBe(401);
    expect(turn.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(turn.headers.get('cache-control')).toBe('no-store');
  });

  it('gives a disallowed origin no CORS headers, and keeps no-store', async () => {
    const res = await post('/v1/ice-servers', 'https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers a preflight from the CORS policy alone, and other /v1 paths with no-store', async () => {
    const preflight = await fetch(`${base}/v1/ice-servers`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('cache-control')).toBeNull();
    const other = await fetch(`${base}/v1/ice-servers`, { method: 'PUT', headers: { origin: ORIGIN } });
    expect(other.status).toBe(404);
    expect(other.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(other.headers.get('cache-control')).toBe('no-store');
    const elsewhere = await post('/v1/nothing-here', ORIGIN);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    expect(elsewhere.headers.get('cache-control')).toBe('no-store');
  });
});
