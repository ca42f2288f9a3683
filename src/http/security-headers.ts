// helmet's response headers, applied by one middleware. helmet() with its default options sets
// the same headers on every response whatever the request (about a dozen middlewares in a row),
// so they are recorded once at start by running helmet against a recording response, and every
// response then gets the recorded steps in order: the same headers for a fraction of the cost on
// the API's hot path (issue 19). helmet stays the source of truth; the test compares both.
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** One step helmet takes on a response: set a header, or remove it (value null). */
export type HeaderStep = readonly [name: string, value: string | number | readonly string[] | null];

/** What helmet() does to any response, in order. Throws if helmet ever needs the request. */
export function recordHelmetHeaders(): readonly HeaderStep[] {
  const steps: HeaderStep[] = [];
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      steps.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      steps.push([name, null]);
    },
    getHeader() {
      return undefined;
    },
  };
  let done = false;
  helmet()({} as never, res as never, (error?: unknown) => {
    if (error !== undefined) throw error;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return steps;
}

/** A middleware applying helmet's recorded headers. */
export function securityHeaders(): RequestHandler {
  const steps = recordHelmetHeaders();
  return (_req, res, next) => {
    for (const [name, value] of steps) {
      if (value === null) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}
