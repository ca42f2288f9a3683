import { gzipSync } from 'node:zlib';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { toHttpError } from '../../../src/http/error-mapping.js';

describe('request bodies that cannot be decoded', () => {
  it('maps a gzip body that fails to inflate to 400 invalid_request, not 500', async () => {
    const app = express();
    app.use(express.json());
    app.post('/', (_req, res) => {
      res.json({});
    });
    let seen: unknown;
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen = err;
      res.status(500).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip at all',
    });
    server.close();
    const refusal = toHttpError(seen);
    expect(refusal?.code).toBe('invalid_request');
    expect(refusal?.status).toBe(400);
  });

  it('leaves a well-formed gzip body alone', () => {
    expect(gzipSync(Buffer.from('{}')).length).toBeGreaterThan(0);
    expect(toHttpError(new Error('boom'))).toBeNull();
  });
});
