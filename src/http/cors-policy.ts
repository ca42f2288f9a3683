// CORS for the browser-facing tenant routes only (DESIGN.md: the browser may call the
// endpoint directly). Origins are CORS_ORIGINS, matched exactly; '*' allows any origin, which
// is safe here because the routes use bearer tokens, never cookies (no credentials mode).
// A disallowed origin gets no Access-Control-Allow-* headers, so the browser blocks it.
import cors from 'cors';
import type { RequestHandler } from 'express';
import { REQUEST_ID_HEADER } from './request-id.js';

/** The CORS middleware for the tenant routes. */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && (any || allowed.has(origin))),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
    // The request id (set on every response by the access log) lets a browser app quote it.
    exposedHeaders: ['Retry-After', REQUEST_ID_HEADER],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
}
