// The access log: one JSON line per HTTP request, written when the response is finished (or the
// client went away first), with the request id that every line the request causes also carries.
// Only the route template, never the raw path, query or headers: tokens travel in those.
// With the process metrics, the same listener observes the request's latency (request-metrics.ts),
// so a request starts one clock and registers one pair of listeners for both (issue 19).
import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import { type RequestContext, runInRequest } from '../log/request-context.js';
import { UNMATCHED_ROUTE } from '../metrics/http-labels.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
import { observeRequestDuration } from './request-metrics.js';
import { routeTemplateOf } from './route-template.js';

/** Probe routes, polled every few seconds by the platform: logged at debug level. */
export const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** One access-log line's fields (the logger adds level, message, timestamp and component). */
interface AccessLine {
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  tenant?: string;
  aborted?: true;
}

/**
 * Assigns the request id, runs the request inside its context and logs it when done; with
 * `metrics`, also observes icegate_http_request_duration_seconds when the response finishes.
 */
export function accessLog(logger: Logger, metrics?: IcegateMetrics): RequestHandler {
  const log = logger.child({ component: 'access' });
  return (req, res, next) => {
    const context: RequestContext = { requestId: requestIdFrom(req.get(REQUEST_ID_HEADER)) };
    res.setHeader(REQUEST_ID_HEADER, context.requestId);
    const started = process.hrtime.bigint();
    let logged = false;
    const done = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const elapsedNs = Number(process.hrtime.bigint() - started);
      if (!aborted && metrics !== undefined) observeRequestDuration(metrics, req, res, elapsedNs / 1e9);
      const route = routeTemplateOf(req) ?? UNMATCHED_ROUTE;
      const line: AccessLine = {
        requestId: context.requestId,
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(elapsedNs / 1e4) / 100,
      };
      if (context.tenant !== undefined) line.tenant = context.tenant;
      if (aborted) line.aborted = true;
      if (QUIET_ROUTES.has(route)) log.debug('http request', line as unknown as Record<string, unknown>);
      else log.info('http request', line as unknown as Record<string, unknown>);
    };
    res.on('finish', () => done(false));
    res.on('close', () => done(!res.writableFinished));
    runInRequest(context, next);
  };
}
