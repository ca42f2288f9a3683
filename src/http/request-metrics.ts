// Latency of every request by route template (never the raw path: ids and tokens must not
// become label values), method and status class.
import type { RequestHandler } from 'express';
import { httpRequestLabels } from '../metrics/http-labels.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { routeTemplateOf } from './route-template.js';

/** Observes icegate_http_request_duration_seconds when each response finishes. */
export function requestMetrics(metrics: IcegateMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequestDuration.observe(
        httpRequestLabels(routeTemplateOf(req), req.method, res.statusCode),
        seconds,
      );
    });
    next();
  };
}
