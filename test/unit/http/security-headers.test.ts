// The recorded helmet headers: a response through securityHeaders() carries exactly the headers
// (names, values, removals) that helmet() itself gives the same response.
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { recordHelmetHeaders, securityHeaders } from '../../../src/http/security-headers.js';

async function headersThrough(middleware: RequestHandler, path: string): Promise<Record<string, string>> {
  const app = express();
  app.use((_req, res, next) => {
    // A header helmet removes must be gone afterwards.
    res.setHeader('X-Powered-By', 'something');
    next();
  });
  app.use(middleware);
  app.get('/json', (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/json', (_req, res) => {
    res.status(201).send('created');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: path === '/json' ? 'GET' : 'POST',
      headers: { Origin: 'https://neo.example', 'X-Forwarded-Proto': 'https' },
    });
    await answer.text();
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== 'date' && name !== 'keep-alive' && name !== 'connection') headers[name] = value;
    });
    return headers;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('security headers', () => {
  it('records helmet’s steps: CSP, HSTS and the removal of X-Powered-By among them', () => {
    const steps = recordHelmetHeaders();
    const names = steps.map(([name]) => name.toLowerCase());
    expect(names).toContain('content-security-policy');
    expect(names).toContain('strict-transport-security');
    expect(steps.find(([name]) => name.toLowerCase() === 'x-powered-by')?.[1]).toBeNull();
  });

  it('gives a response the same headers helmet() gives it', async () => {
    for (const path of ['/json', '/created']) {
      const ours = await headersThrough(securityHeaders(), path);
      const theirs = await headersThrough(helmet(), path);
      expect(ours).toEqual(theirs);
      expect(ours['x-powered-by']).toBeUndefined();
      expect(ours['x-content-type-options']).toBe('nosniff');
    }
  });
});
