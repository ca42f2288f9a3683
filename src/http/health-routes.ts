// Probes and metrics: /healthz (the process answers), /readyz (ready for new traffic),
// /metrics (Prometheus text). None of them is rate limited or authenticated; /metrics carries
// no tenant, user or IP label (DESIGN.md), so it holds nothing secret.
import { Router as createRouter, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

/** The probe routes. */
export function healthRoutes(readiness: Readiness, registry: Registry | undefined): Router {
  const router = createRouter();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const state = readiness.state;
    res.status(state === 'ready' ? 200 : 503).json({ status: state });
  });
  if (registry !== undefined) {
    router.get('/metrics', async (_req, res, next) => {
      try {
        const text = await registry.metrics();
        res.setHeader('Content-Type', registry.contentType);
        res.send(text);
      } catch (err) {
        next(err);
      }
    });
  }
  return router;
}
