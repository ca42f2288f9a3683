// chain(): several middlewares as one router layer, with the router's rules for next(), throws
// and rejected promises, checked against an Express app over real HTTP.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain } from '../../../src/http/middleware-chain.js';

const mark =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    res.append('X-Steps', name);
    next();
  };

let server: Server;
let base = '';
beforeAll(async () => {
  const app = express();
  app.get('/order', chain([mark('a'), mark('b'), (_req, res) => void res.json({ ok: true })]));
  app.get('/through', chain([mark('a'), mark('b')]));
  app.get('/through', (_req, res) => void res.json({ after: true }));
  app.get(
    '/throws',
    chain([
      mark('a'),
      () => {
        throw new Error('sync');
      },
      mark('never'),
    ]),
  );
  app.get(
    '/rejects',
    chain([
      mark('a'),
      async () => {
        await Promise.resolve();
        throw new Error('async');
      },
    ]),
  );
  app.get('/next-error', chain([(_req, _res, next) => next(new Error('passed')), mark('never')]));
  app.get('/next-route', chain([mark('a'), (_req, _res, next) => next('route'), mark('never')]));
  app.get('/next-route', (_req, res) => void res.json({ nextRoute: true }));
  app.use(((err, _req, res, _next) => {
    res.status(500).json({ error: (err as Error).message });
  }) as ErrorRequestHandler);
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function get(path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, steps: res.headers.get('x-steps'), body: await res.json() };
}

describe('chain', () => {
  it('runs its handlers in order', async () => {
    expect(await get('/order')).toEqual({ status: 200, steps: 'a, b', body: { ok: true } });
  });

  it('continues the router after its last handler calls next()', async () => {
    expect(await get('/through')).toEqual({ status: 200, steps: 'a, b', body: { after: true } });
  });

  it('passes a thrown error, a rejected promise and next(err) to the error handler', async () => {
    expect(await get('/throws')).toEqual({ status: 500, steps: 'a', body: { error: 'sync' } });
    expect(await get('/rejects')).toEqual({ status: 500, steps: 'a', body: { error: 'async' } });
    expect(await get('/next-error')).toEqual({ status: 500, steps: null, body: { error: 'passed' } });
  });

  it("leaves the route on next('route')", async () => {
    expect(await get('/next-route')).toEqual({ status: 200, steps: 'a', body: { nextRoute: true } });
  });

  it('is the handler itself when there is only one', () => {
    const only = mark('x');
    expect(chain([only])).toBe(only);
  });
});
