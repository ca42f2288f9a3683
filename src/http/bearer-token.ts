// Reads `Authorization: Bearer <token>` (RFC 6750 section 2.1).
import type { Request } from 'express';
import { HttpError } from './http-error.js';

/** The bearer token of the request; 401 invalid_token when absent or malformed. */
export function bearerToken(req: Request): string {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (match === null) {
    throw new HttpError('invalid_token', 'an Authorization: Bearer <token> header is required');
  }
  return match[1]!;
}
