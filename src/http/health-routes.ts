// Probes: /healthz (the process answers), /readyz (ready for new traffic). Neither is rate
// limited or authenticated; both answer a few bytes. /metrics is not here: it has its own
// listener (metrics-server.ts, METRICS_PORT), never the public API port.
import { Router as createRouter, type Router } from 'express';
import type { Readiness } from './readiness.js';

/** The probe routes. */
export function healthRoutes(readiness: Readiness): Router {
  const router = createRouter();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const state = readiness.state;
    res.status(state === 'ready' ? 200 : 503).json({ status: state });
  });
  return router;
}
