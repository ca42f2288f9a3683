import { AuthError } from './errors.js';
import { formatRestUsername, isValidOpaque, isValidTenantId } from './rest-username.js';
import type { SecretRing } from './secret-ring.js';

/** What a credential is minted for. */
export interface MintRequest {
  tenant: string;
  /** Lifetime in whole seconds, at least 1. */
  ttlSeconds: number;
  /** The current time, as a Date or milliseconds since the epoch. */
  now: Date | number;
  /** Optional opaque suffix, e.g. an end-user id (see rest-username.ts for the charset). */
  opaque?: string;
}

/** A TURN REST credential, as handed to a browser in `iceServers`. */
export interface MintedCredential {
  username: string;
  password: string;
  expiresAt: Date;
}

/** Upper bound on a credential lifetime: one week, far above any sane TURN REST ttl. */
export const MAX_CREDENTIAL_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Mints a TURN REST credential with the ring's first secret (draft-uberti-behave-turn-rest-00
 * section 2.2): username `<now + ttl>:<tenant>[:<opaque>]`, password base64(HMAC-SHA1(secret, username)).
 */
export function mintCredential(ring: SecretRing, request: MintRequest): MintedCredential {
  const { tenant, ttlSeconds, opaque } = request;
  if (!isValidTenantId(tenant)) {
    throw new AuthError('ICEGATE_AUTH_BAD_TENANT', 'tenant id must match [A-Za-z0-9._-]{1,64}');
  }
  if (opaque !== undefined && !isValidOpaque(opaque)) {
    throw new AuthError(
      'ICEGATE_AUTH_BAD_OPAQUE',
      'opaque must be 1-128 visible ASCII characters without ":"',
    );
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CREDENTIAL_TTL_SECONDS) {
    throw new AuthError(
      'ICEGATE_AUTH_BAD_TTL',
      `ttlSeconds must be an integer in 1..${MAX_CREDENTIAL_TTL_SECONDS}`,
    );
  }
  const nowMs = typeof request.now === 'number' ? request.now : request.now.getTime();
  if (!Number.isFinite(nowMs) || nowMs < 0) {
    throw new AuthError('ICEGATE_AUTH_BAD_TIME', 'now must be a valid, non-negative time');
  }
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = formatRestUsername(opaque === undefined ? { expiry, tenant } : { expiry, tenant, opaque });
  return { username, password: ring.password(username), expiresAt: new Date(expiry * 1000) };
}
