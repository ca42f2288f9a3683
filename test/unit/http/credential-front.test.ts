// What every answer of the credential routes carries, whichever layer runs it: CORS for allowed
// origins (refusals included, so a browser can read them), Cache-Control: no-store, helmet's
// headers and the request id; preflights answered by the CORS policy alone.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, createRefusingApp, listenLocally } from './refusing-app.js';

const ORIGIN = 'https://app.example';
let server: Server;
let base = '';
beforeAll(async () => {
  ({ server, url: base } = await listenLocally(
    createRefusingApp({ config: { CREDENTIAL_TTL_MAX: 3600, CORS_ORIGINS: [ORIGIN] } }),
  ));
});
afterAll(() => closeServer(server));

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
