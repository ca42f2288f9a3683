// Admin JWTs for the operator (issue 4): HS256 under ADMIN_TOKEN_SECRET with the `admin` scope,
// icegate's own issuer and audience, `iat` and an `exp` at most a year ahead: the shape
// src/http/admin-auth.ts verifies (issue 15 point 4). Minted at the first embedded start and by
// `icegate admin-token`.
import {
  ADMIN_TOKEN_AUDIENCE,
  ADMIN_TOKEN_ISSUER,
  MAX_ADMIN_TOKEN_TTL_SECONDS,
} from '../http/admin-token-claims.js';
import { jsonwebtoken } from '../licensing/jsonwebtoken.js';

export { ADMIN_TOKEN_AUDIENCE, ADMIN_TOKEN_ISSUER, MAX_ADMIN_TOKEN_TTL_SECONDS };

/** Default life of a minted admin token: 30 days. */
export const DEFAULT_ADMIN_TOKEN_TTL_SECONDS = 30 * 86_400;

/** A minted admin token and when it expires. */
export interface MintedAdminToken {
  token: string;
  expiresAt: Date;
}

/** Signs an admin token valid `ttlSeconds` from `now` (ms); `subject` names the operator in logs. */
export function mintAdminToken(
  secret: string,
  options: { ttlSeconds?: number; subject?: string; now?: number } = {},
): MintedAdminToken {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const exp = now + (options.ttlSeconds ?? DEFAULT_ADMIN_TOKEN_TTL_SECONDS);
  const claims = {
    scope: 'admin',
    sub: options.subject ?? 'icegate-admin',
    iss: ADMIN_TOKEN_ISSUER,
    aud: ADMIN_TOKEN_AUDIENCE,
    iat: now,
    exp,
  };
  const token = jsonwebtoken().sign(claims, secret, { algorithm: 'HS256' });
  return { token, expiresAt: new Date(exp * 1000) };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** Reads a lifetime like `30d`, `12h`, `90m`, `3600s` or `3600` (seconds); throws RangeError. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (match === null) {
    throw new RangeError(
      `--ttl: expected a duration such as 30d, 12h, 90m or 3600s, got ${JSON.stringify(text)}`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] === '' ? 's' : match[2]!]!;
  if (seconds < 60 || seconds > MAX_ADMIN_TOKEN_TTL_SECONDS) {
    throw new RangeError('--ttl: an admin token lives between 1 minute and 365 days');
  }
  return seconds;
}
