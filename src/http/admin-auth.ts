// Admin JWTs (issue 4): HS256 with ADMIN_TOKEN_SECRET, `exp` required, and the `admin` scope
// (`scope: "admin"`, or a space-separated scope list or array containing it). Only HS256 is
// accepted, so `alg: none` and algorithm confusion are refused. The key object is built once.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { bearerToken } from './bearer-token.js';
import { HttpError } from './http-error.js';

/** The verified admin, for logs: `sub` when the token names one. */
export interface AdminIdentity {
  subject: string | null;
}

function hasAdminScope(scope: unknown): boolean {
  if (typeof scope === 'string') return scope.split(' ').includes('admin');
  return Array.isArray(scope) && scope.includes('admin');
}

/** Verifies an admin token against `key` at `now` (ms); throws 401/403 refusals. */
export function verifyAdminToken(token: string, key: KeyObject, now: number): AdminIdentity {
  let payload: jwt.JwtPayload | string;
  try {
    payload = jwt.verify(token, key, { algorithms: ['HS256'], clockTimestamp: Math.floor(now / 1000) });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError)
      throw new HttpError('token_expired', 'the admin token has expired');
    throw new HttpError('invalid_token', 'the admin token is not valid');
  }
  if (typeof payload === 'string' || typeof payload.exp !== 'number') {
    throw new HttpError('invalid_token', 'the admin token must carry an exp claim');
  }
  if (!hasAdminScope(payload.scope)) throw new HttpError('forbidden', 'the token lacks the admin scope');
  return { subject: typeof payload.sub === 'string' ? payload.sub : null };
}

/** Middleware guarding the admin API; puts the AdminIdentity in `res.locals.admin`. */
export function requireAdmin(secret: string, clock: () => number): RequestHandler {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return (req, res, next) => {
    res.locals.admin = verifyAdminToken(bearerToken(req), key, clock());
    next();
  };
}
