// What every answer of the credential routes carries, whichever layer runs it: CORS for allowed
// origins (refusals included, so a browser can read them), Cache-Control: no-store, helmet's
// headers and the request id; preflights answered by the CORS policy alone.
import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
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

  it('logs each request once, whether the credential routes or a later layer answer it', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
    });
    const logged = await listenLocally(
      createRefusingApp({
        config: { CREDENTIAL_TTL_MAX: 3600, CORS_ORIGINS: [ORIGIN] },
        logger: createLogger({ level: 'debug', stream }),
      }),
    );
    try {
      const asked = [
        ['POST', '/v1/ice-servers', 401],
        ['GET', '/v1/turn-credentials?service=turn', 401],
        ['PUT', '/v1/ice-servers', 404],
        ['OPTIONS', '/v1/ice-servers', 204],
        ['GET', '/healthz', 200],
      ] as const;
      for (const [method, path, status] of asked) {
        const res = await fetch(`${logged.url}${path}`, {
          method,
          headers: {
            origin: ORIGIN,
            'x-request-id': `${method}-${path}`,
            'access-control-request-method': 'POST',
          },
        });
        expect(res.status, `${method} ${path}`).toBe(status);
        expect(res.headers.get('x-content-type-options'), `${method} ${path}`).toBe('nosniff');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const [method, path, status] of asked) {
        const access = lines.filter(
          (l) => l.message === 'http request' && l.requestId === `${method}-${path}`,
        );
        expect(access, `${method} ${path}`).toHaveLength(1);
        expect(access[0]).toMatchObject({ method, status });
      }
    } finally {
      await closeServer(logged.server);
    }
  });
});
