// Latency of every request by route template (never the raw path: ids and tokens must not
// become label values), method and status class.
import type { Request, RequestHandler, Response } from 'express';
import { httpRequestLabels } from '../metrics/http-labels.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { routeTemplateOf } from './route-template.js';

/** Observes icegate_http_request_duration_seconds for a finished response. */
export function observeRequestDuration(
  metrics: IcegateMetrics,
  req: Request,
  res: Response,
  seconds: number,
): void {
  metrics.httpRequestDuration.observe(
    httpRequestLabels(routeTemplateOf(req), req.method, res.statusCode),
    seconds,
  );
}

/**
 * Observes icegate_http_request_duration_seconds when each response finishes. The app does it in
 * the access log's own listener (access-log.ts); this middleware is the same for other servers.
 */
export function requestMetrics(metrics: IcegateMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      observeRequestDuration(metrics, req, res, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
