// Request bodies: JSON only (415 otherwise), validated with zod (400 invalid_request naming the
// first bad field). express.json has already enforced the size limit (413) and the syntax (400).
import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** 415 unsupported_media_type for a request that carries a body that is not application/json. */
export function requireJsonContent(): RequestHandler {
  return (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !req.is('application/json')) {
      throw new HttpError('unsupported_media_type', 'request bodies must be application/json');
    }
    next();
  };
}

/** The body parsed by `schema`; `undefined` bodies are validated as `fallback` when given. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, fallback?: unknown): T {
  const result = schema.safeParse(body === undefined ? fallback : body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
  throw new HttpError('invalid_request', `${where}: ${issue?.message ?? 'invalid'}`);
}
