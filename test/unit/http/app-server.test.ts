// createAppServer: requests and responses are built with the Express application's prototypes,
// so Express's per-request Object.setPrototypeOf changes nothing, and the objects still behave as
// Express's own (checked over real HTTP, with keep-alive so one socket serves several requests).

import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPrototypes, createAppServer } from '../../../src/http/app-server.js';

interface Seen {
  before: { req: object | null; res: object | null };
  inside: { req: object | null; res: object | null };
}

const seen: Seen[] = [];
let app: express.Express;
let server: Server;
let base = '';

beforeAll(async () => {
  app = express();
  app.set('trust proxy', true);
  app.post('/echo', express.json(), (req, res) => {
    const last = seen.at(-1)!;
    last.inside = { req: Object.getPrototypeOf(req), res: Object.getPrototypeOf(res) };
    res.set('X-Seen', req.get('x-probe') ?? 'none');
    res.status(201).json({
      body: req.body,
      ip: req.ip,
      path: req.path,
      isRequest: req instanceof IncomingMessage,
      isResponse: res instanceof ServerResponse,
    });
  });
  app.get('/fails', () => {
    throw new Error('boom');
  });
  server = createAppServer(app, { keepAliveTimeout: 2_000 });
  // Runs before Express's handler: the objects as Node's http server made them.
  server.prependListener('request', (req, res) => {
    seen.push({
      before: { req: Object.getPrototypeOf(req), res: Object.getPrototypeOf(res) },
      inside: { req: null, res: null },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createAppServer', () => {
  it("builds req and res with the app's own prototypes before Express sees them", async () => {
    const { request, response } = app as unknown as { request: object; response: object };
    for (let i = 0; i < 3; i += 1) {
      const answer = await fetch(`${base}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-probe': `p${i}`, 'x-forwarded-for': '203.0.113.9' },
        body: JSON.stringify({ n: i }),
      });
      expect(answer.status).toBe(201);
    }
    expect(seen).toHaveLength(3);
    for (const s of seen) {
      expect(s.before.req).toBe(request);
      expect(s.before.res).toBe(response);
      // Express's setPrototypeOf left them as they were.
      expect(s.inside.req).toBe(request);
      expect(s.inside.res).toBe(response);
    }
  });

  it('serves as Express does: body parsing, headers, trust proxy, status and JSON', async () => {
    const answer = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-probe': 'hello', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ a: [1, 2] }),
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-seen')).toBe('hello');
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await answer.json()).toEqual({
      body: { a: [1, 2] },
      ip: '203.0.113.9',
      path: '/echo',
      isRequest: true,
      isResponse: true,
    });
  });

  it("answers through Express's final handler when a route throws", async () => {
    const answer = await fetch(`${base}/fails`);
    expect(answer.status).toBe(500);
  });

  it('gives constructors whose prototypes are the app’s, or nothing on a Node with classes', () => {
    const made = appPrototypes(app);
    const { request, response } = app as unknown as { request: object; response: object };
    expect(made.IncomingMessage?.prototype).toBe(request);
    expect(made.ServerResponse?.prototype).toBe(response);
  });
});
