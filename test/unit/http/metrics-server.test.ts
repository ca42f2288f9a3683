// The metrics listener (issue 15 point 6): GET/HEAD /metrics in the registry's exposition format,
// 404 for anything else, concurrent scrapes rendered once, a failed render a 500 without detail.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsServer, METRICS_MAX_CONNECTIONS } from '../../../src/http/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { parseExposition } from '../metrics/exposition.js';

let server: Server | null = null;

async function listen(registry: Registry): Promise<string> {
  server = createMetricsServer(registry, silentLogger);
  const s = server;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const s = server;
  server = null;
  if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
});

describe('createMetricsServer', () => {
  it('serves the registry at GET /metrics in the exposition format, HEAD without a body', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.draining.set(1);
    const url = await listen(metrics.registry);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    expect(text).toMatch(/^icegate_draining 1$/m);
    expect(parseExposition(text).size).toBeGreaterThan(10);
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(await head.text()).toBe('');
  });

  it('answers 404 not_found for every other path and method, the API routes included', async () => {
    const url = await listen(createMetrics({ defaultMetrics: false }).registry);
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/healthz'],
      ['GET', '/v1/ice-servers'],
      ['POST', '/metrics'],
      ['GET', '/metrics/extra'],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found', message: `no route for ${method} ${path}` });
    }
    expect((await fetch(`${url}/metrics?x=1`)).status).toBe(200);
  });

  it('renders once for scrapes that arrive while a render is in flight', async () => {
    const registry = new Registry();
    let renders = 0;
    const original = registry.metrics.bind(registry);
    registry.metrics = async () => {
      renders++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return original();
    };
    const url = await listen(registry);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/metrics`)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(renders).toBe(1);
    await fetch(`${url}/metrics`);
    expect(renders).toBe(2);
  });

  it('answers a failed render 500 internal_error without its detail', async () => {
    const registry = new Registry();
    registry.metrics = () => Promise.reject(new Error('collector exploded: secret detail'));
    const url = await listen(registry);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal_error', message: 'internal error' });
  });

  it('bounds its connections', () => {
    const s = createMetricsServer(new Registry(), silentLogger);
    expect(s.maxConnections).toBe(METRICS_MAX_CONNECTIONS);
    expect(s.headersTimeout).toBeLessThanOrEqual(10_000);
  });
});
