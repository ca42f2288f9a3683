// Admin JWTs (issue 4): HS256 with ADMIN_TOKEN_SECRET, `exp` required, and the `admin` scope
// (`scope: "admin"`, or a space-separated scope list or array containing it). Only HS256 is
// accepted, so `alg: none` and algorithm confusion are refused. The key object is built once.
// Issue 15 point 4: `iss` and `aud` must be icegate's own (admin-token-claims.ts), `exp` at most a
// year ahead (the CLI's cap, enforced here too), and `iat`, when present, not in the future beyond
// the clock leeway tenant tokens get.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { RequestHandler } from 'express';
import { CLOCK_TOLERANCE_SECONDS } from '../licensing/index.js';
import { type JwtPayload, jsonwebtoken } from '../licensing/jsonwebtoken.js';
import {
  ADMIN_TOKEN_AUDIENCE,
  ADMIN_TOKEN_ISSUER,
  MAX_ADMIN_TOKEN_TTL_SECONDS,
} from './admin-token-claims.js';
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
  const nowSeconds = Math.floor(now / 1000);
  let payload: JwtPayload | string;
  try {
    payload = jsonwebtoken().verify(token, key, {
      algorithms: ['HS256'],
      clockTimestamp: nowSeconds,
      issuer: ADMIN_TOKEN_ISSUER,
      audience: ADMIN_TOKEN_AUDIENCE,
    });
  } catch (err) {
    if (err instanceof jsonwebtoken().TokenExpiredError)
      throw new HttpError('token_expired', 'the admin token has expired');
    if (
      err instanceof jsonwebtoken().JsonWebTokenError &&
      /^jwt (issuer|audience) invalid/.test(err.message)
    ) {
      throw new HttpError(
        'invalid_token',
        `the admin token must carry iss "${ADMIN_TOKEN_ISSUER}" and aud "${ADMIN_TOKEN_AUDIENCE}"`,
      );
    }
    throw new HttpError('invalid_token', 'the admin token is not valid');
  }
  if (typeof payload === 'string' || typeof payload.exp !== 'number') {
    throw new HttpError('invalid_token', 'the admin token must carry an exp claim');
  }
  if (payload.exp > nowSeconds + MAX_ADMIN_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw new HttpError('invalid_token', "the admin token's exp is more than 365 days ahead");
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw new HttpError('invalid_token', "the admin token's iat is in the future");
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
