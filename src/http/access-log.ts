// The access log: one JSON line per HTTP request, written when the response is finished (or the
// client went away first), with the request id that every line the request causes also carries.
// Only the route template, never the raw path, query or headers: tokens travel in those.
import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import { type RequestContext, runInRequest } from '../log/request-context.js';
import { UNMATCHED_ROUTE } from '../metrics/http-labels.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
import { routeTemplateOf } from './route-template.js';

/** Probe routes, polled every few seconds by the platform: logged at debug level. */
export const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Assigns the request id, runs the request inside its context and logs it when done. */
export function accessLog(logger: Logger): RequestHandler {
  const log = logger.child({ component: 'access' });
  return (req, res, next) => {
    const context: RequestContext = { requestId: requestIdFrom(req.get(REQUEST_ID_HEADER)) };
    res.setHeader(REQUEST_ID_HEADER, context.requestId);
    const started = process.hrtime.bigint();
    let logged = false;
    const done = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const route = routeTemplateOf(req) ?? UNMATCHED_ROUTE;
      const line = {
        requestId: context.requestId,
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(context.tenant === undefined ? {} : { tenant: context.tenant }),
        ...(aborted ? { aborted: true } : {}),
      };
      if (QUIET_ROUTES.has(route)) log.debug('http request', line);
      else log.info('http request', line);
    };
    res.on('finish', () => done(false));
    res.on('close', () => done(!res.writableFinished));
    runInRequest(context, next);
  };
}
