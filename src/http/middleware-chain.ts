// Several middlewares run as one Express layer. Every router layer costs a few microseconds per
// request (matching, params, prefix trimming, the try/promise wrapper), which on the credential
// route was a large share of what icegate adds to a bare Express route (issue 19). The chain runs
// its handlers in order with the router's rules: a handler that throws, or whose returned promise
// rejects, passes the error on; next(err) (or next('route'), next('router')) leaves the chain with
// that argument for the router to act on; next() after the last handler continues the router.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** One middleware that runs `handlers` in order, as consecutive router layers would. */
export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  const steps = [...handlers];
  return (req: Request, res: Response, done: NextFunction) => {
    let index = 0;
    const next = ((err?: unknown) => {
      // The router treats any truthy argument as leaving the stack ('route', 'router', an error).
      if (err) {
        done(err);
        return;
      }
      const handler = steps[index++];
      if (handler === undefined) {
        done();
        return;
      }
      let result: unknown;
      try {
        result = handler(req, res, next);
      } catch (error) {
        done(error);
        return;
      }
      if (isPromiseLike(result)) {
        result.then(undefined, (error: unknown) => done(error || new Error('Rejected promise')));
      }
    }) as NextFunction;
    next();
  };
}
