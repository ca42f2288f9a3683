// The app's surface without a network: every route it registers is described in the OpenAPI
// document (and nothing else is), requests are labelled by route template (read on the metrics
// listener), /metrics is not served on the API port, /readyz follows the readiness flag.
import type { AddressInfo } from 'node:net';
import type { Application } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsServer, Readiness } from '../../../src/http/index.js';
import { openApiDocument } from '../../../src/http/openapi.js';
import type { ReissueQueue } from '../../../src/licensing/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { closeServer, createRefusingApp, listenLocally } from './refusing-app.js';

const readiness = new Readiness();
const metrics = createMetrics({ defaultMetrics: false });
const app = createRefusingApp({
  config: { CREDENTIAL_TTL_MAX: 3600, CORS_ORIGINS: [], ADMIN_TOKEN_SECRET: 'x'.repeat(32) },
  metrics,
  reissueRequests: {} as ReissueQueue,
  readiness,
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function routesOf(application: Application): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((application as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

let url = '';
let metricsUrl = '';
let server: import('node:http').Server;
const metricsServer = createMetricsServer(metrics.registry, silentLogger);
beforeAll(async () => {
  ({ server, url } = await listenLocally(app));
  await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
  metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await closeServer(server);
  await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
});

describe('createHttpApp', () => {
  it('describes exactly its routes in the OpenAPI document', () => {
    const documented = Object.entries(openApiDocument.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(routesOf(app)).toEqual(documented);
  });

  it('documents X-Request-Id on every operation and every response, and returns it', async () => {
    const doc = openApiDocument as unknown as {
      components: {
        parameters: Record<string, { name: string; in: string }>;
        headers: Record<string, unknown>;
      };
      paths: Record<
        string,
        Record<
          string,
          {
            parameters: { $ref?: string }[];
            responses: Record<string, { headers?: Record<string, { $ref?: string }> }>;
          }
        >
      >;
    };
    expect(doc.components.parameters.RequestId).toMatchObject({ name: 'X-Request-Id', in: 'header' });
    expect(doc.components.headers.RequestId).toBeDefined();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.parameters, `${method} ${path}`).toContainEqual({
          $ref: '#/components/parameters/RequestId',
        });
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.headers?.['X-Request-Id'], `${method} ${path} ${status}`).toEqual({
            $ref: '#/components/headers/RequestId',
          });
        }
      }
    }
    const res = await fetch(`${url}/healthz`, { headers: { 'X-Request-Id': 'trace-42' } });
    expect(res.headers.get('x-request-id')).toBe('trace-42');
  });

  it('answers /readyz 503 until ready and again while draining', async () => {
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    readiness.markReady();
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
    readiness.startDraining();
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'draining' });
  });

  it('labels request latency by route template, never by raw path', async () => {
    await fetch(`${url}/v1/admin/tenants/some-tenant-id`);
    await fetch(`${url}/no/such/path`);
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(text).toContain('route="/v1/admin/tenants/:tenant"');
    expect(text).toContain('route="unmatched"');
    expect(text).not.toContain('some-tenant-id');
    expect(text).toContain('icegate_credential_requests_total');
  });

  it('does not serve /metrics on the API port (issue 15 point 6): 404 not_found there', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${url}/metrics`, { method });
      expect(res.status, method).toBe(404);
      if (method === 'GET') expect(await res.json()).toMatchObject({ error: 'not_found' });
    }
    expect(Object.keys(openApiDocument.paths)).not.toContain('/metrics');
  });
});
