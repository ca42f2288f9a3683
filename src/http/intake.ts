// The middlewares every /v1 route runs before its handler, in this order: the per-IP rate
// limit (before any token or body work), then the body rules (415 for non-JSON, 16 kB limit,
// JSON syntax). They sit on each route rather than on the app, so a refused request is still
// labelled with its route template in the latency metric.
import type { Request, RequestHandler } from 'express';
import type { RateHit } from './rate-limit/rate-limiter.js';

/** The shared front of every /v1 route. */
export interface RouteIntake {
  /** Per-client-IP rate limit. */
  ipLimit: RequestHandler;
  /** The count ipLimit makes for `req` (the credential routes make it together with the tenant's). */
  ipHit(req: Request): RateHit;
  /** JSON-only bodies, size-limited and parsed. */
  body: RequestHandler[];
}
