// The last two middlewares of the app: 404 for unmatched routes and the error handler, both
// answering JSON `{error, message}` (Express's own handler would send an HTML page).
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../log/logger.js';
import { toHttpError } from './error-mapping.js';
import type { ErrorBody } from './http-error.js';
import { HttpError } from './http-error.js';

/** Writes a refusal; records its code for the credential-request metric. */
export function sendError(res: Response, error: HttpError): void {
  res.locals.errorCode = error.code;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const body: ErrorBody = { error: error.code, message: error.message };
  res.status(error.status).json(body);
}

/** 404 `not_found` for every request no route matched. */
export function notFound(): RequestHandler {
  return (req, res) => {
    sendError(res, new HttpError('not_found', `no route for ${req.method} ${req.path}`));
  };
}

/** Maps errors to JSON refusals; unexpected ones are logged and answered 500 without detail. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const refusal = toHttpError(err);
    if (refusal === null) {
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    sendError(res, refusal ?? new HttpError('internal_error', 'internal error'));
  };
}
