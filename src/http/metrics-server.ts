// The Prometheus listener (METRICS_PORT, METRICS_LISTEN_IP; issue 15 point 6): /metrics is served
// here and nowhere else, so the public API port never renders the ~77 kB exposition for anyone who
// asks. A plain node:http handler (no Express): one route, nothing to parse. Scrapes that arrive
// while one is being rendered share its text, so a burst of scrapers costs one render, and the
// connection count is bounded (Prometheus holds one keep-alive connection per target).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { Registry } from '../metrics/prom-client.js';
import { createServer } from '../node-builtins.js';
import type { ErrorBody } from './http-error.js';

/** Most connections the metrics listener holds at once; more are refused by the kernel backlog. */
export const METRICS_MAX_CONNECTIONS = 32;

function refuse(res: ServerResponse, status: number, body: ErrorBody) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Renders the registry once for every scrape that arrives while a render is in flight. */
function sharedRender(registry: Registry): () => Promise<string> {
  let inFlight: Promise<string> | null = null;
  return () => {
    if (inFlight === null) {
      inFlight = registry.metrics().finally(() => {
        inFlight = null;
      });
    }
    return inFlight;
  };
}

/** An unstarted server answering GET/HEAD /metrics from `registry` and 404 for anything else. */
export function createMetricsServer(registry: Registry, logger: Logger): Server {
  const render = sharedRender(registry);
  const log = logger.child({ component: 'metrics' });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      refuse(res, 404, { error: 'not_found', message: `no route for ${req.method} ${path}` });
      return;
    }
    render().then(
      (text) => {
        res.writeHead(200, {
          'Content-Type': registry.contentType,
          'Content-Length': Buffer.byteLength(text),
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.error('metrics render failed', { error: err instanceof Error ? err.message : String(err) });
        refuse(res, 500, { error: 'internal_error', message: 'internal error' });
      },
    );
  };
  const server = createServer(
    {
      maxHeaderSize: 8 * 1024,
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    },
    handle,
  );
  server.keepAliveTimeout = 65_000;
  server.maxConnections = METRICS_MAX_CONNECTIONS;
  return server;
}
