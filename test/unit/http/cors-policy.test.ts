// The CORS policy of the tenant routes over real HTTP: an allowed origin may read the request id
// (and Retry-After) from the answer, a disallowed one gets no CORS headers at all.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corsPolicy } from '../../../src/http/cors-policy.js';
import { REQUEST_ID_HEADER } from '../../../src/http/request-id.js';

let server: Server;
let url = '';
beforeAll(async () => {
  const app = express();
  app.use(corsPolicy(['https://app.example']));
  app.get('/v1/x', (_req, res) => {
    res.setHeader(REQUEST_ID_HEADER, 'req-1');
    res.json({ ok: true });
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const exposed = (res: Response) =>
  (res.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());

describe('corsPolicy', () => {
  it('exposes X-Request-Id and Retry-After to an allowed origin', async () => {
    const res = await fetch(url, { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(exposed(res)).toContain('x-request-id');
    expect(exposed(res)).toContain('retry-after');
    expect(res.headers.get(REQUEST_ID_HEADER)).toBe('req-1');
  });

  it('gives a disallowed origin no CORS headers', async () => {
    const res = await fetch(url, { headers: { Origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
